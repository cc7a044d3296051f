"""The one door that says whether a sale may go ahead: the line's own check of what is asked (a
valid number, something the cached catalog sells), the price by the shop's rule and never below cost
without a supervisor's leave, and, for a person, an open cash session. The counter's forms, the
admin's add form and ``orders.create_order`` all ask here; a bulk file's rows ask the same line
checks and the same price rule (``batches``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop

from topups import lines
from topups.lines.base import Item, ProductLine, SaleRefused
from topups.notes import Note
from topups.prices import Quote
from topups.services import pricing, tills

__all__ = ["Sale", "SaleRefused", "check_sale"]


@dataclass(frozen=True)
class Sale:
    line: ProductLine
    item: Item
    quote: Quote


def check_sale(service: str, fields: dict, *, catalog=None, user_id: int | None = None,
               on_sale: bool = True) -> Sale:
    """Check one sale of ``service`` (a line's code) as asked by ``fields`` (``line_type``,
    ``plan_code``, ``number``, ``value`` as typed); ``catalog``: rows the caller already holds;
    ``on_sale`` False: see ``ProductLine.check_item`` (``orders.create_order``: the person's form
    checked the catalog, and stock may change before the send, which checks it again).
    Raises SaleRefused (``field``: the form field it is about) or ValidationError (the number)."""
    line = lines.find(service or lines.default_code())
    if line is None:
        raise SaleRefused(Note(gettext_noop("Unknown service %(service)s."), service=service))
    item = line.check_item(fields, catalog=catalog, on_sale=on_sale)
    quote = line.quote(item, pricing.PriceBook())
    if refusal := quote.refusal(service=line.code):
        raise SaleRefused(refusal, "value")
    if user_id is not None and tills.session_missing(user_id):
        raise SaleRefused(str(tills.NO_SESSION))
    return Sale(line, item, quote)
