"""The counter's gift-card form: product (by category), card type (price and stock as checked
when the counter showed them), quantity; checked as ``GiftCardLine`` checks a sale."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from topups.forms.orders import checked_ref, confirm_same_line
from topups.keys import issue_ref
from topups.lines.base import SaleRefused


class GiftOrderForm(forms.Form):
    product = forms.ChoiceField(label=_("Product"))
    type_id = forms.ChoiceField(label=_("Card"), required=False)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1)
    ref = forms.CharField(widget=forms.HiddenInput, max_length=128)
    repeat_of = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args, products, types, line, user, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("ref", issue_ref(user))
        super().__init__(*args, **kwargs)
        self.user, self.line, self.products, self.types = user, line, products, types
        self.same_line_refs: list[str] = []
        self.fields["quantity"].max_value = settings.GIFT_MAX_QUANTITY
        self.fields["product"].choices = [("", _("Choose a product"))] + [(p.product_id, p.title) for p in products]
        self.fields["type_id"].choices = [("", _("Choose a card"))] + [(t.type_id, t.name) for t in types]

    def clean_ref(self) -> str:
        return checked_ref(self.user, self.cleaned_data["ref"])

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if not data.get("type_id"):
            if "check" not in self.data:  # showing a product's cards is not a sale yet
                self.add_error("type_id", _("Choose a card type."))
            return data
        fields = {"plan_code": f"{data['product']}:{data['type_id']}", "number": str(data["quantity"])}
        try:
            item = self.line.check_item(fields, on_sale=True)
        except SaleRefused as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc))
            return data
        data.update(plan_code=item.plan_code, number=item.number, amount=item.value, item=item)
        confirm_same_line(self, "", data)
        return data
