"""Arabic: Django's "ar" has no date-and-time format and falls back to the American default
(11/28/2026 5:44 p.m.); day/month/year and a 24-hour clock, as in Algeria."""

DATETIME_FORMAT = "j F، Y H:i"
TIME_FORMAT = "H:i"
SHORT_DATETIME_FORMAT = "d‏/m‏/Y H:i"
# Django's "ar" groups no digits (37685,00): thousands grouped as in its ar_DZ (37.685,00).
NUMBER_GROUPING = 3
