"""A toy product line, for tests only: "Toy vouchers" of 500, 1,000 or 2,000 DA for an ADSL line,
sold from its own fixed catalog and placed at the API as internet cards. It exists to show that a
line is a plug-in: it lives in this package alone, registers itself, and is sold through the shared
counter, admin, bulk files, sync and books without a line of shared code knowing it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

from topups import lines
from topups.keys import issue_ref, issued_ref
from topups.lines.base import Item, ProductLine, SaleRefused, Templates
from topups.numbers import TypedNumberField, normalise_number
from topups.oneclick import TopupStatus

CODE = "toy"
VALUES = {Decimal(500): Decimal(490), Decimal(1000): Decimal(980), Decimal(2000): Decimal(1960)}  # value: cost


class ToyForm(forms.Form):
    number = TypedNumberField(label="ADSL line")
    value = forms.ChoiceField(label="Voucher", choices=[(f"{v:.0f}", f"{v:.0f} DA") for v in VALUES])
    ref = forms.CharField(widget=forms.HiddenInput, max_length=128)

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("ref", issue_ref(user))
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_ref(self) -> str:
        ref = issued_ref(self.user, self.cleaned_data["ref"])
        if ref is None:
            raise ValidationError("This form is out of date.")
        return ref

    def clean_number(self) -> str:
        return normalise_number("ADSL", self.cleaned_data["number"])


class ToyCounter:
    initial_keys = ("number", "value")

    def __init__(self, line) -> None:
        self.line = line

    def form(self, data=None, *, initial=None, catalog, user):
        return ToyForm(data, initial=dict(initial or {}), user=user)

    def before_submit(self, request, catalog):
        return None

    def checking(self, request) -> bool:
        return False

    def sale_fields(self, data: dict) -> dict:
        return {"number": data["number"], "value": data["value"]}

    def context(self, form) -> dict:
        return {"toy_values": list(VALUES)}


class ToyLine(ProductLine):
    code = CODE
    label = "Toy voucher"
    tab_label = "Toy vouchers"
    rank = 90
    accepted_status = TopupStatus.HANDLING
    debit_types = ()  # placed as internet cards: their ledger rows are the internet line's
    templates = Templates(counter="lines/toy/counter.html", outcome="lines/internet/outcome.html",
                          facts="lines/toy/facts.html", receipt_item="lines/toy/facts.html",
                          receipt_outcome="lines/internet/receipt_outcome.html",
                          claim_delivered="lines/internet/claim_delivered.html")

    def send(self, client, order):
        return client.send_topup(line_type="ADSL", number=order.number, value=order.value, ref=order.ref)

    def check_id(self, client, topup_id):
        return client.check_id(topup_id)

    def check_ref(self, client, ref):
        return client.check_ref(ref)

    def list_page(self, client, *, page, page_size, from_, to):
        return client.list_topups(page=page, page_size=page_size, from_=from_, to=to)

    def check_item(self, fields, *, catalog=None, on_sale=True) -> Item:
        number = normalise_number("ADSL", fields.get("number") or "")
        try:
            value = Decimal(str(fields.get("value")))
        except (InvalidOperation, ValueError):
            raise SaleRefused("Choose a toy voucher.", "value") from None
        if value not in VALUES:
            raise SaleRefused("No toy voucher of this value.", "value")
        return Item(number=number, value=value, cost=VALUES[value], line_type="ADSL")

    def quote(self, item, book):
        return book.quote_for("", item.value, item.cost)  # the shop's default rule

    def below_cost_message(self, price) -> str:
        return f"This toy voucher's price ({price} DA) is below its cost."

    def claims_row(self, cells) -> bool:
        return cells["type"].strip().upper() == "TOY"

    def check_row(self, row, formula, catalog) -> None:
        cells = row["input"]
        try:
            item = self.check_item({"number": cells["number"], "value": cells["value"]})
        except (SaleRefused, ValidationError):
            row["errors"].append(["unknown_value", {"value": cells["value"][:40], "type": "TOY"}])
            return
        row.update(line_type=item.line_type, number=item.number, value=f"{item.value:.0f}", cost=str(item.cost))

    def bulk_catalog(self):
        return VALUES

    def item_label(self, line_type, plan_code, value) -> str:
        return f"Toy {value:.0f}"

    def kind_label(self, line_type, plan_code) -> str:
        return "Toy"

    def type_label(self, line_type, plan_code) -> str:
        return ""

    def type_filters(self):
        return [(CODE, "Toy")]

    def type_filter(self, key):
        return {"service": CODE} if key == CODE else None

    def form_initial(self, order) -> dict:
        return {"number": order.number, "value": f"{order.value:.0f}"}

    def counter(self):
        return ToyCounter(self)


def register() -> ToyLine:
    return lines.register(ToyLine())


def unregister() -> None:
    lines.unregister(CODE)
