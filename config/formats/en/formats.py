"""English as the shop reads it in Algeria: day/month/year and a 24-hour clock (Django's "en" is
American: 11/28/2026 5:44 p.m.)."""

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y H:i"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
