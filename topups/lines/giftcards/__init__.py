"""Gift cards, the third product line: what belongs to this line alone (for now, ``matching``: how
an order whose placeOrder answer was lost is found again in the provider's list and ledger)."""
