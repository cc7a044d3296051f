"""Internet cards (ADSL and 4G LTE): the API's /internet endpoints, the cached catalog of values
(``catalog``), the line number rules (``topups.numbers.normalise_number``), the counter's form
(``forms``, ``counter``) and the pages' fragments (``templates/lines/internet/``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from topups import lines
from topups.lines.base import Item, ProductLine, SaleRefused, Templates
from topups.models import LineType, Product
from topups.numbers import normalise_number
from topups.oneclick import OneClickClient, TopupStatus

# How a bulk file may name the type.
BULK_TYPES = {"ADSL": LineType.ADSL, "4G": LineType.LTE, "LTE": LineType.LTE, "4GLTE": LineType.LTE}
NOT_ON_SALE = gettext_noop("No card of this value for this type in the catalog (or out of stock): choose a value "
                           "from Products.")


class InternetLine(ProductLine):
    code = "internet"
    label = gettext_lazy("Internet card")
    tab_label = gettext_lazy("Internet card")
    rank = 10
    checks_line = True
    accepted_status = TopupStatus.HANDLING
    debit_types = ("ADSL",)
    refund_types = ("REFUND-ADSL",)
    templates = Templates(counter="lines/internet/counter.html", outcome="lines/internet/outcome.html",
                          facts="lines/internet/facts.html", receipt_item="lines/internet/receipt_item.html",
                          receipt_outcome="lines/internet/receipt_outcome.html",
                          claim_delivered="lines/internet/claim_delivered.html")

    # The API
    def send(self, client: OneClickClient, order):
        return client.send_topup(line_type=order.line_type, number=order.number, value=order.value, ref=order.ref)

    def check_id(self, client: OneClickClient, topup_id: str):
        return client.check_id(topup_id)

    def check_ref(self, client: OneClickClient, ref: str):
        return client.check_ref(ref)

    def list_page(self, client: OneClickClient, *, page, page_size, from_, to):
        return client.list_topups(page=page, page_size=page_size, from_=from_, to=to)

    # Selling
    def catalog(self) -> list[Product]:
        from topups.lines.internet import catalog
        from topups.selectors import available_products

        catalog.ensure_fresh()
        return available_products()

    def check_item(self, fields: dict, *, catalog=None, on_sale: bool = True) -> Item:
        line_type = fields.get("line_type") or ""
        if line_type not in LineType.values:
            raise SaleRefused(gettext_noop("Choose the line type of the card."), "line_type")
        number = normalise_number(line_type, fields.get("number") or "")
        try:
            value = Decimal(fields.get("value"))
        except (TypeError, ValueError, InvalidOperation):
            raise SaleRefused(gettext_noop("Choose a value of the selected type."), "value") from None
        if on_sale and value <= 0:
            raise SaleRefused(gettext_noop("The value must be positive."), "value")
        product = next((p for p in catalog or () if (p.line_type, p.value) == (line_type, value)), None)
        if product is None:
            product = Product.objects.filter(line_type=line_type, value=value).only(
                "line_type", "value", "cost", "available").first()
        if on_sale and (product is None or not product.available):
            raise SaleRefused(NOT_ON_SALE, "value")
        return Item(number=number, value=value, cost=product.cost if product else None, line_type=line_type)

    def quote(self, item: Item, book):
        return book.quote_for(item.line_type, item.value, item.cost)

    def below_cost_message(self, price) -> str:
        # Told at the counter, to cashiers too: the price, never the shop's cost.
        return _("This card's price (%(price)s DA) is below its cost: a supervisor must allow it first.") % {
            "price": price}

    # Bulk files: a row is a card unless another line claims it (this line is the first registered).
    def claims_row(self, cells: dict) -> bool:
        return True

    def check_row(self, row: dict, formula: set, catalog) -> None:
        from topups.lines.internet.bulk import check_row

        check_row(row, formula, catalog)

    def bulk_catalog(self):
        return {(p.line_type, p.value): p for p in Product.objects.all()}

    # Pages, books, filters
    def item_label(self, line_type: str, plan_code: str, value) -> str:
        name = dict(LineType.choices).get(line_type, line_type)
        return f"{name} {value:.0f}" if value is not None else str(name)

    def kind_label(self, line_type: str, plan_code: str) -> str:
        return str(dict(LineType.choices).get(line_type, line_type))

    def type_filters(self):
        return list(LineType.choices)

    def type_filter(self, key: str):
        return {"line_type": key} if key in LineType.values else None

    def type_label(self, line_type: str, plan_code: str) -> str:
        return str(dict(LineType.choices).get(line_type, ""))

    def form_initial(self, order) -> dict:
        from topups.keys import value_key

        return {"line_type": order.line_type, "number": order.number, "value": value_key(order.line_type, order.value)}

    def counter(self):
        from topups.lines.internet.counter import InternetCounter

        return InternetCounter(self)

    def schedules(self):
        return {"Catalog refresh": ("topups.tasks.refresh_catalog", "CATALOG_REFRESH_MINUTES")}

    def urls(self):
        from topups.lines.internet.counter import urlpatterns

        return urlpatterns


LINE = lines.register(InternetLine())
