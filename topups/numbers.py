"""Line numbers as staff type them, turned into the form the API expects.

ADSL lines are 9 digits starting with 0 (``036362608``); 4G LTE lines are 12 digits starting with
the country code (``213665983439``). Staff type spaces, dashes, ``+213``, ``00213`` or a leading 0;
Arabic-Indic digits (``٠٣٦…``, as an Arabic keyboard types them) are read as 0-9. All of these are
accepted and normalised here, in one place, for the form, the CSV upload, the services and the orders
search alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from topups.models import LineType
from topups.oneclick import client as api_client
from topups.oneclick import types as api_types

# The API's own patterns, as the client checks them before any call.
PATTERNS = {line_type: api_client.NUMBER_PATTERNS[api_types.LineType(line_type.value)] for line_type in LineType}
EXAMPLES = {LineType.ADSL: "036362608", LineType.LTE: "213665983439"}
# Separators people type, and the invisible direction marks a number copied from Arabic text carries.
_SEPARATORS = re.compile(r"[\s\-./()\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
# Arabic-Indic (U+0660..) and Extended Arabic-Indic (U+06F0.., Persian keyboards) digits to 0-9.
_ASCII_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def ascii_digits(raw: str) -> str:
    """``raw`` with its digits in 0-9."""
    return (raw or "").translate(_ASCII_DIGITS)


def compact(raw: str) -> str:
    """``raw`` without separators (spaces, dashes, dots, slashes, brackets), digits in 0-9."""
    return _SEPARATORS.sub("", ascii_digits(raw))


def national_digits(digits: str, *, bare_country_code: Callable[[str], bool] = lambda digits: True) -> str | None:
    """The national part of ``digits`` (a number without separators): what follows the first of
    ``00213``, ``213`` or the trunk ``0`` it starts with, or None when it starts with none of them.
    A bare ``213`` is the country code only when ``bare_country_code(digits)`` says so, for the rule
    differs: a 4G line's own digits start with 213 (longer than 10 digits: the code), a mobile
    number with it is 12 digits, and a number still being typed strips it at any length."""
    if digits.startswith("00213"):
        return digits[5:]
    if digits.startswith("213") and bare_country_code(digits):
        return digits[3:]
    if digits.startswith("0"):
        return digits[1:]
    return None


class TypedNumberField(forms.CharField):
    """A line or mobile number as staff type it, in every form the counter accepts. Its text is
    compacted (``compact``: separators gone, digits in 0-9) before any length rule, so
    ``+213 790 45 53 95`` (17 characters) fits the 16 characters of ``Order.number``; the form then
    normalises it for its service (``normalise_number``, ``normalise_mobile``). Every form that takes
    a number uses this field: the counter's two tabs and the admin's add form."""

    # The longest compact form of a valid number is 14 characters (00213 and 9 digits).
    COMPACT_MAX = 16
    # What the browser lets staff type, spaces and dashes included.
    TYPED_MAX = 40

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", self.COMPACT_MAX)
        super().__init__(**kwargs)

    def to_python(self, value) -> str:
        return compact(super().to_python(value))

    def widget_attrs(self, widget) -> dict:
        attrs = super().widget_attrs(widget)
        if "maxlength" in attrs:
            attrs["maxlength"] = str(self.TYPED_MAX)
        return attrs


def normalise_number(line_type: str, raw: str) -> str:
    """Return the API form of ``raw`` for ``line_type`` or raise ValidationError saying the form."""
    line_type = LineType(line_type)
    digits = compact(raw)
    if digits.startswith("+"):
        digits = "00" + digits[1:]
    if not digits.isdigit():
        raise ValidationError(_expected(line_type), code="invalid_number")
    national = national_digits(digits, bare_country_code=lambda d: len(d) > 10)
    if national is None:
        national = digits
    if line_type == LineType.ADSL:
        candidate = "0" + national
    else:
        candidate = "213" + national
    if not PATTERNS[line_type].match(candidate):
        raise ValidationError(_expected(line_type), code="invalid_number")
    return candidate


def number_candidates(raw: str) -> list[str]:
    """Every number ``raw`` can be, an internet line of either type or a mobile number, in the
    API's form (what a search looks for: ``0665983439`` and ``+213 665 98 34 39`` are both
    213665983439 as a 4G line and 0665983439 as a mobile number)."""
    candidates = []
    for normalise in (*(partial(normalise_number, line_type) for line_type in LineType), normalise_mobile):
        try:
            candidates.append(normalise(raw))
        except ValidationError:
            pass
    return candidates


# Mobile numbers (the API's MSSIDN): 0, then 5 (Ooredoo), 6 (Mobilis) or 7 (Djezzy), then 8 digits;
# the client's pattern, as it checks it before any call.
MSSIDN = api_client.MSSIDN_PATTERN
MOBILE_EXAMPLE = "0661234567"
OPERATOR_BY_PREFIX = {"5": "Ooredoo", "6": "Mobilis", "7": "Djezzy"}


def normalise_mobile(raw: str) -> str:
    """The API form (``0XXXXXXXXX``) of a mobile number as staff type it (spaces, dashes, ``+213``,
    ``00213``, ``213``, without its 0, Arabic-Indic digits), or ValidationError saying the form."""
    digits = compact(raw)
    if digits.startswith("+"):
        digits = "00" + digits[1:]
    if not digits.isdigit():
        raise ValidationError(_expected_mobile(), code="invalid_mobile")
    national = national_digits(digits, bare_country_code=lambda d: len(d) == 12)
    if national is not None:
        digits = "0" + national
    elif len(digits) == 9 and digits[0] in OPERATOR_BY_PREFIX:
        digits = "0" + digits
    if not MSSIDN.match(digits):
        raise ValidationError(_expected_mobile(digits), code="invalid_mobile")
    return digits


def _expected_mobile(digits: str = "") -> str:
    message = _("A mobile number is 10 digits starting with 05 (Ooredoo), 06 (Mobilis) or 07 (Djezzy), for example "
                "%(example)s (+213 661 23 45 67 is accepted too).") % {"example": MOBILE_EXAMPLE}
    if digits.isdigit() and digits.startswith("0") and len(digits) != 10:
        message = _("%(count)s digits typed.") % {"count": len(digits)} + " " + message
    return message


def _expected(line_type: LineType) -> str:
    if line_type == LineType.ADSL:
        return _("An ADSL number is 9 digits starting with 0, for example %(example)s.") % {
            "example": EXAMPLES[line_type]
        }
    return _(
        "A 4G LTE number is 213 followed by 9 digits, for example %(example)s (0665 98 34 39 and +213 665 98 34 39 "
        "are accepted too)."
    ) % {"example": EXAMPLES[line_type]}
