"""Mobile top-ups ("flexy"): the API's /mobile endpoints, the cached plans and the check of an order
(``plans``), the counter's form and its live check (``forms``, ``counter``), bulk rows (``bulk``)
and the pages' fragments (``templates/lines/mobile/``). Nothing to deliver but the credit itself: no
card code; the cost is what the API debited."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from topups import lines
from topups.lines.base import Item, ProductLine, Templates
from topups.models import OrderStatus
from topups.notes import Note
from topups.oneclick import OneClickClient, TopupStatus

S = OrderStatus
BULK_TYPES = {"FLEXY", "MOBILE"}  # a row of one of these types, or with a plan_code, is a top-up
PROCESSING = frozenset({S.NEW, S.SENDING, S.UNKNOWN, S.HANDLING})


class MobileLine(ProductLine):
    code = "mobile"
    label = gettext_lazy("Mobile top-up")
    tab_label = gettext_lazy("Flexy (mobile credit)")
    rank = 20
    checks_line = False
    accepted_status = TopupStatus.PENDING
    debit_types = ("FLEXY",)
    refund_types = ("REFUND-FLEXY",)
    delivers_code = False
    cost_set_by_debit = True
    templates = Templates(counter="lines/mobile/counter.html", outcome="lines/mobile/outcome.html",
                          facts="lines/mobile/facts.html", receipt_item="lines/mobile/receipt_item.html",
                          receipt_outcome="lines/mobile/receipt_outcome.html", offers="lines/mobile/offers.html",
                          claim_delivered="lines/mobile/claim_delivered.html")

    # The API
    def send(self, client: OneClickClient, order):
        # The API ignores the amount of a fixed plan, so it travels whenever there is one (a GETMENU
        # request has none: the number only).
        amount = order.value if order.value else None
        return client.send_mobile(plan_code=order.plan_code, number=order.number, amount=amount, ref=order.ref)

    def check_id(self, client: OneClickClient, topup_id: str):
        return client.mobile_check_id(topup_id)

    def check_ref(self, client: OneClickClient, ref: str):
        return client.mobile_check_ref(ref)

    def list_page(self, client: OneClickClient, *, page, page_size, from_, to):
        return client.list_mobile(page=page, page_size=page_size, from_=from_, to=to)

    # The answer
    def answer_fields(self, order, topup, now):
        """The message for the customer and the suggested offers (kept once given), the cost (what
        the API says it debited, ``balance_amount``: ``planning.cost_from_api``), the time."""
        from topups.services.planning import cost_from_api

        fields = {}
        if topup.refund_message:
            fields["refund_message"] = topup.refund_message
        if topup.suggested_offers:
            fields["suggested_offers"] = list(topup.suggested_offers)
        fields.update(cost_from_api(order, topup.charged))
        if topup.status == TopupStatus.FULFILLED and order.processed_at is None:
            fields["processed_at"] = topup.processed_at or now
        return fields, _answer_note(topup)

    def explanation(self, status: str, *, menu: bool):
        if status == S.FULFILLED:
            return _("Done: the credit was sent to the number.")
        if status == S.UNCERTAIN:
            return _("Outcome not known yet — do not refund. The operator's answer was lost; the provider settles "
                     "it within 1–24 h and this page follows it.")
        return None

    def customer_message(self, order):
        if order.status == S.FULFILLED:
            return _("Done: the credit was sent to the number above.")
        if order.status in PROCESSING:
            return _("Paid. The credit is on its way to the number above. Keep this receipt: if it has not "
                     "arrived within an hour, come back to the shop with it.")
        return None

    # Selling
    def catalog(self):
        from topups.lines.mobile import plans

        return plans.plans()

    def check_item(self, fields: dict, *, catalog=None, on_sale: bool = True) -> Item:
        from topups.lines.mobile import plans

        code = fields.get("plan_code") or ""
        held = next((p for p in catalog or () if p.code == code), None)
        checked = plans.check_mobile(code, fields.get("number") or "", fields.get("value"), plan=held)
        return Item(number=checked.number, value=checked.amount, cost=checked.cost, plan_code=checked.plan.code)

    def quote(self, item: Item, book):
        return book.quote_mobile(item.plan_code, item.value, item.cost)

    def below_cost_message(self, price) -> str:
        return _("This top-up's price is below its cost: a supervisor must allow it first.")

    # Bulk files
    def claims_row(self, cells: dict) -> bool:
        return bool(cells["plan_code"]) or cells["type"].upper().replace(" ", "") in BULK_TYPES

    def required_cells(self):
        return ("type", "number", "plan_code")

    def check_row(self, row: dict, formula: set, catalog) -> None:
        from topups.lines.mobile.bulk import check_row

        check_row(row, formula, catalog)

    def bulk_catalog(self):
        return {p.code: p for p in self.catalog()}

    # Pages, books, filters
    def item_label(self, line_type: str, plan_code: str, value) -> str:
        return f"{self.label} {plan_code}"

    def kind_label(self, line_type: str, plan_code: str) -> str:
        return f"{_('Flexy')} {plan_code}"

    def groups_by_value(self) -> bool:
        return False  # a plan, whatever the amount typed

    def type_label(self, line_type: str, plan_code: str) -> str:
        return "" if line_type else str(self.label)  # a top-up has no line type

    def type_filters(self):
        return [(self.code, _("Flexy"))]

    def type_filter(self, key: str):
        return {"service": self.code} if key == self.code else None

    def form_initial(self, order) -> dict:
        from topups.keys import value_text

        return {"number": order.number, "plan_code": order.plan_code, "amount": value_text(order.value)}

    def notice_phone(self, order) -> str:
        from topups.numbers import MSSIDN

        return order.number if MSSIDN.match(order.number) else ""  # the number topped up is a phone

    def offers(self, order, user) -> list[dict]:
        from topups.lines.mobile.counter import offers_of

        return offers_of(order, user)

    def counter(self):
        from topups.lines.mobile.counter import MobileCounter

        return MobileCounter(self)

    def schedules(self):
        return {"Mobile plans refresh": ("topups.tasks.refresh_mobile_plans", "MOBILE_PLANS_REFRESH_MINUTES")}

    def urls(self):
        from topups.lines.mobile.counter import urlpatterns

        return urlpatterns


def _answer_note(topup) -> Note | str:
    if topup.status == TopupStatus.FULFILLED:
        return Note(gettext_noop("Credit delivered to the number"))
    if topup.status == TopupStatus.REFUNDED:
        if topup.suggested_offers:
            return Note(gettext_noop("Not delivered, the API refunded the cost; it suggests other offers"))
        return Note(gettext_noop("Not delivered by the operator; the API refunded the cost"))
    if topup.status == TopupStatus.UNKNOWN_ERROR:
        return Note(gettext_noop("Outcome uncertain at the operator: do not refund the customer; checked again "
                                 "hourly until the API settles it (usually within 24 h)"))
    return ""


LINE = lines.register(MobileLine())
