"""The sentences staff read for a bulk file's problems: presentation of the [code, params] pairs
``services.batches`` stores, in the language of whoever looks at the preview or the results."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from topups.models import LineType
from topups.notes import render
from topups.numbers import normalise_mobile, normalise_number
from topups.prices import below_cost_message


def problem_message(code: str, params: dict) -> str:
    """The sentence shown to staff for one problem of a row or of the file."""
    if code == "formula":
        return _("The %(column)s cell starts like a spreadsheet formula (=, +, -, @): it was not read.") % params
    if code == "missing":
        return _("The %(column)s is missing.") % params
    if code == "long":
        return _("This row has more cells than the header: check the separator and the quotes.")
    if code == "bad_type":
        return _("Unknown line type \"%(value)s\": use ADSL, 4G or FLEXY.") % params
    if code == "bad_number":
        try:
            normalise_number(params["type"], params["value"])
        except ValidationError as exc:
            return _("Malformed number \"%(value)s\". %(expected)s") % {**params, "expected": exc.messages[0]}
        return _("Malformed number \"%(value)s\".") % params
    if code == "bad_mobile":
        try:
            normalise_mobile(params["value"])
        except ValidationError as exc:
            return _("Malformed mobile number \"%(value)s\". %(expected)s") % {**params, "expected": exc.messages[0]}
        return _("Malformed mobile number \"%(value)s\".") % params
    if code == "mobile_refused":  # the counter's own check (lines.mobile.plans), stored as its message and parameters
        return render(params["message"], params.get("code", ""), params.get("params"))
    if code == "below_cost":  # the counter's sentence (Quote.refusal)
        return below_cost_message(service=params.get("service", ""), price=params.get("price"), cost=params.get("cost"))
    if code == "cost_unknown":
        return _("The API does not give the cost of the plan %(plan)s: the total counts its face value.") % params
    if code == "bad_value":
        return _("The value \"%(value)s\" is not a number.") % params
    if code in ("unknown_value", "out_of_stock"):
        shown = {"value": number_format(Decimal(params["value"]), force_grouping=True),
                 "type": LineType(params["type"]).label}
        if code == "unknown_value":
            return _("There is no %(value)s DA card for %(type)s in the catalog.") % shown
        return _("The %(value)s DA card for %(type)s is out of stock.") % shown
    if code == "duplicate":
        return _("Same line and value as row %(first)s of this file.") % params
    if code == "duplicate_ref":
        return _("The reference %(ref)s is also used by row %(first)s of this file.") % params
    if code == "bad_ref":
        return _("The reference \"%(ref)s\" is not valid: 1 to 64 letters, digits, - or _ (no spaces).") % params
    if code == "ref_used":
        return _("The reference %(ref)s is already used by an existing order.") % params
    if code == "note_too_long":
        return _("The note is longer than 255 characters.")
    if code == "recent":
        return ngettext(
            "Warning: this number was already ordered with this value in the last %(hours)s hours (%(refs)s).",
            "Warning: this number was already ordered with this value %(count)s times in the last %(hours)s hours "
            "(%(refs)s).", params["count"]) % params
    if code == "encoding":
        return _("The file is not UTF-8: it was read as %(encoding)s. Check that the notes below read correctly; "
                 "if not, save the file as \"CSV UTF-8\" and upload it again.") % params
    if code == "ignored_columns":
        return _("These columns are not used and were ignored: %(columns)s.") % params
    if code == "balance_unknown":
        return _("The balance is not known yet, so the total cost could not be compared with it.")
    if code == "catalog_empty":
        return _("The catalog has not been loaded yet: no value can be checked. Try again in a few minutes.")
    return code
