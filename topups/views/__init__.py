"""The staff dashboard's views, one module per area: thin views that parse input, call one service or
selector, and render. Every view needs a login and a permission."""
