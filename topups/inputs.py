"""Amounts and dates as a person types them or a file carries them, read within bounds: the one
parser the forms, the JSON endpoints, the admin's filters and the bulk files share.

Why bounds before anything else: ``Decimal("1E+999999999")`` is a valid, finite number that a
database column overflows on, that ``quantize`` refuses and that formatting expands to a billion
digits; ``date(9999, 12, 31)`` is a valid date whose next day overflows. So the text is checked
for length and shape first, the number for magnitude before it is expanded or stored, and a date
for a calendar range any real order falls in. A bad value raises ``ValidationError`` with a
translated message (its ``code`` says which rule), never anything that becomes a 500.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from topups.numbers import ascii_digits
from topups.widgets import DayInput

# Every money column holds 10 digits with 2 decimals (the till's 12): no sum a person types at the
# counter comes near, and anything above is a typo or an attack.
MAX_AMOUNT = Decimal("99999999.99")
# Longer text is not read at all (the longest valid amount, "99 999 999,99 DA", is 16 characters).
MAX_AMOUNT_TEXT = 32
# A plain decimal, optionally with an exponent of at most 3 digits (a spreadsheet's "1E+03").
_AMOUNT_SHAPE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,10})?$")
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009\t")

# Dates a person may ask for: far enough for any real order, near enough that a day's bounds
# (the day after, the day before) never overflow and a typo shows an error, not an empty list.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)

NOT_A_NUMBER = _("Enter a number, such as 1050 or 1050.50.")
NEGATIVE = _("The amount cannot be negative.")
DECIMALS = _("At most 2 decimals.")
WHOLE = _("The amount must be a whole number of dinars, such as 500.")
OUT_OF_RANGE_DAY = _("Enter a date between 2000 and 2100.")


def amount_shown(maximum: Decimal) -> str:
    """A bound as the messages show it, grouped in the active language."""
    return number_format(maximum, decimal_pos=2 if maximum != maximum.to_integral_value() else 0,
                         force_grouping=True)


def too_large_message(maximum: Decimal = MAX_AMOUNT) -> str:
    return _("The amount cannot be more than %(max)s DA.") % {"max": amount_shown(maximum)}


def amount_text(raw) -> str:
    """``raw`` as the parser reads it: digits in 0-9, no spaces, a lone decimal comma as a point."""
    text = ascii_digits(str(raw)).translate(_SPACES)
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")  # a French decimal comma
    return text


def parse_amount(raw, *, decimals: int = 2, maximum: Decimal = MAX_AMOUNT) -> Decimal:
    """A sum of money: a number (Arabic-Indic digits, spaces and a decimal comma accepted), not
    negative, at most ``decimals`` decimals and ``maximum``. Raises ValidationError with code
    ``invalid``, ``negative``, ``decimals`` or ``too_large``; nothing is expanded before the
    magnitude is known to fit."""
    text = amount_text(raw)
    if len(text) > MAX_AMOUNT_TEXT:
        raise ValidationError(too_large_message(maximum) if text.isdigit() else NOT_A_NUMBER,
                              code="too_large" if text.isdigit() else "invalid")
    if not _AMOUNT_SHAPE.match(text):
        raise ValidationError(NOT_A_NUMBER, code="invalid")
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the shape above is always a Decimal
        raise ValidationError(NOT_A_NUMBER, code="invalid") from None
    if amount < 0:
        raise ValidationError(NEGATIVE, code="negative")
    amount = amount.copy_abs()  # "-0" is 0
    if amount > maximum:  # compares exponents: cheap whatever the exponent
        raise ValidationError(too_large_message(maximum), code="too_large")
    step = Decimal(1).scaleb(-decimals)
    if amount != amount.quantize(step):  # bounded above: quantize cannot overflow
        raise ValidationError(WHOLE if decimals == 0 else DECIMALS, code="decimals")
    exponent = amount.as_tuple().exponent
    if exponent > 0 or exponent < -decimals:  # "1E+3" is 1000, "10.500" is 10.50
        amount = amount.quantize(step if exponent < 0 else Decimal(1))
    return amount


def parse_optional_amount(raw, **bounds) -> Decimal | None:
    """``parse_amount``, or None for a blank value."""
    if raw is None or not str(raw).strip():
        return None
    return parse_amount(raw, **bounds)


def check_day(day: date) -> date:
    """``day`` if it lies within FIRST_DAY..LAST_DAY, else ValidationError (code ``date_range``)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(OUT_OF_RANGE_DAY, code="date_range")
    return day


def parse_day(raw) -> date:
    """A date (``2026-12-06``, or a date and time of which the date counts) within the range."""
    text = str(raw).strip()[:40]
    try:
        moment = parse_datetime(text) or parse_date(text)
    except ValueError:  # the right shape, not a real day (2026-02-30)
        moment = None
    if moment is None:
        raise ValidationError(_("Enter a valid date."), code="invalid")
    return check_day(moment.date() if isinstance(moment, datetime) else moment)


class DayField(forms.DateField):
    """A form's date, within FIRST_DAY..LAST_DAY (a date picker's widget by default)."""

    default_validators = [check_day]

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", DayInput())
        super().__init__(**kwargs)


class AmountField(forms.CharField):
    """A sum of money typed by a person, read by ``parse_amount``."""

    def __init__(self, *, decimals: int = 2, maximum: Decimal = MAX_AMOUNT, **kwargs):
        kwargs.setdefault("max_length", MAX_AMOUNT_TEXT)
        self.decimals, self.maximum = decimals, maximum
        super().__init__(**kwargs)
        self.widget.attrs.update(inputmode="decimal", autocomplete="off", dir="ltr")

    def clean(self, value):
        value = super().clean(value)
        return None if value in (None, "") else parse_amount(value, decimals=self.decimals, maximum=self.maximum)


# Date lookups in an admin list's query (a date hierarchy's ?created_at__year=, a filter's
# ?created_at__gte=): the part of a date each one carries, and its bounds.
_DATE_PARTS = {"year": (FIRST_DAY.year, LAST_DAY.year), "month": (1, 12), "day": (1, 31), "week": (1, 53),
               "week_day": (1, 7), "iso_week_day": (1, 7), "quarter": (1, 4), "iso_year": (FIRST_DAY.year,
                                                                                          LAST_DAY.year)}
_DATE_VALUE_LOOKUPS = {"", "exact", "gt", "gte", "lt", "lte", "date"}


def check_date_lookup(lookup: str, raw: str) -> None:
    """Raise ValidationError unless ``raw`` is a value the date lookup ``lookup`` (``year``,
    ``gte``, …; "" for an exact match) may be given. Lookups other than these pass unchecked."""
    if lookup in _DATE_PARTS:
        low, high = _DATE_PARTS[lookup]
        text = str(raw).strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 4 and low <= int(text) <= high):
            raise ValidationError(OUT_OF_RANGE_DAY, code="date_range")
    elif lookup in _DATE_VALUE_LOOKUPS:
        parse_day(raw)
