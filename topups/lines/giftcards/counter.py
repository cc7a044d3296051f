"""The counter's gift-card side: category → product → card type with price and stock (asked of the
API when the product is shown: checkProduct), quantity, the selling price. The shared flow
(``views.orders.new_order``) creates and sends the order like any other."""

from __future__ import annotations

from django.utils.translation import gettext as _

from topups.lines.giftcards import catalog as gift_catalog
from topups.lines.giftcards.forms import GiftOrderForm
from topups.oneclick import errors as api_errors
from topups.services import pricing

FORM_FIELDS = ("product", "type_id", "quantity")


class GiftCounter:
    initial_keys = FORM_FIELDS

    def __init__(self, line) -> None:
        self.line = line
        self.problem = ""

    def _types(self, product_id: str):
        """The product's types, checked with the API now (price, stock); the cached ones when it
        does not answer (the send checks again before placing the order)."""
        if not product_id:
            return []
        try:
            return gift_catalog.check_types(product_id)
        except api_errors.OneClickError as exc:
            self.problem = _("The provider did not answer about this product's stock: %(error)s") % {"error": exc}
            from topups.models import GiftType

            return list(GiftType.objects.filter(product__product_id=product_id, listed=True).select_related("product"))

    def form(self, data=None, *, initial=None, catalog, user) -> GiftOrderForm:
        source = data if data is not None else (initial or {})
        product_id = source.get("product") or ""
        known = {p.product_id for p in catalog}
        types = self._types(product_id) if product_id in known else []
        return GiftOrderForm(data, initial=dict(initial or {}), products=catalog, types=types, line=self.line,
                             user=user)

    def before_submit(self, request, catalog):
        return None

    def checking(self, request) -> bool:
        return "check" in request.POST

    def sale_fields(self, data: dict) -> dict:
        return {"plan_code": data["plan_code"], "number": data["number"], "value": data["amount"]}

    def context(self, form: GiftOrderForm) -> dict:
        book = pricing.PriceBook()
        for gift_type in form.types:
            item = self.line.check_item({"plan_code": gift_type.plan_code, "number": "1"}, on_sale=False)
            gift_type.sale = self.line.quote(item, book)
        groups: dict[str, list] = {}
        for product in form.products:
            groups.setdefault(product.category or _("Other"), []).append(product)
        item = form.cleaned_data.get("item") if hasattr(form, "cleaned_data") else None
        return {"categories": sorted(groups.items()), "types": form.types,
                "sale": self.line.quote(item, book) if item is not None else None,
                "catalog_synced_at": gift_catalog.synced_at(), "stock_problem": self.problem}
