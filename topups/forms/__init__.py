"""Forms of the staff dashboard, one module per area: parse and check input, nothing else (services
do the work)."""
