"""Services: the only code that calls the API client and changes orders, products and the account."""
