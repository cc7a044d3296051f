"""How orders are named between the server, its forms and its files: order references (issued
and signed by the server for the new-order form, derived from a bulk file's label) and the
``TYPE:VALUE`` key of a catalog value (the new-order form's value select, the retry links).

Plain functions with no forms or views in them, so that services (bulk files) and forms share
them without the services importing the forms.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.core import signing
from django.core.exceptions import ValidationError
from django.utils.crypto import salted_hmac

from topups.inputs import parse_amount
from topups.models import new_ref

REF_PATTERN = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
# A bulk file's label (its ``ref`` column): any short name people give rows ("R1", "lot-3"), since
# the order's reference is derived from it (``file_ref``), never the label itself.
LABEL_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The new-order form carries a ref the server issued, signed for the user it was issued to: a
# form cannot bring a ref of its own (one used on the API account outside the app would make the
# API answer DUPLICATED_REF and the order adopt someone else's card). A day is plenty for a form.
REF_SALT = "topups.new-order-ref"
REF_MAX_AGE = 24 * 3600


def _ref_signer(user) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"{REF_SALT}:{user.pk}")


def issue_ref(user) -> str:
    """A fresh order reference, signed for ``user``: what the new-order form's hidden field holds."""
    return _ref_signer(user).sign(new_ref())


def file_ref(label: str) -> str:
    """The order reference for a bulk file's ``ref`` cell: derived from it with a server key, so
    the same label gives the same reference (uploading a file twice is caught as "reference
    already used") while no file can choose the reference the API sees (one used on the account
    outside the app would adopt that card). The label stays in the file's results."""
    return "OCF-" + salted_hmac(REF_SALT + ":file", label).hexdigest()[:16].upper()


def issued_ref(user, signed: str) -> str | None:
    """The reference in ``signed`` if this server issued it to ``user`` within a day, else None."""
    try:
        ref = _ref_signer(user).unsign(signed, max_age=REF_MAX_AGE)
    except signing.BadSignature:
        return None
    return ref if REF_PATTERN.match(ref) else None


def value_text(value: Decimal) -> str:
    """A card value as staff write it and keys carry it: no trailing zeros ("1000", "1500.5")."""
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


def value_key(line_type: str, value: Decimal) -> str:
    """The ``TYPE:VALUE`` key of a catalog value, as the new-order form's select submits it."""
    return f"{line_type}:{value_text(value)}"


def parse_value_key(key: str) -> tuple[str, Decimal | None]:
    """(type, value) of a ``TYPE:VALUE`` key; the value is None when it is not an amount the
    bounded parser reads (``inputs.parse_amount``)."""
    line_type, _sep, amount = key.partition(":")
    try:
        return line_type, parse_amount(amount)
    except ValidationError:
        return line_type, None
