"""Forms of the staff dashboard: parse and check input, nothing else (services do the work)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from topups.models import LineType, OrderStatus, Product, new_ref
from topups.numbers import normalise_number
from topups.selectors import OrderFilters

REF_PATTERN = re.compile(r"^[A-Za-z0-9_-]{6,64}$")


def value_key(value: Decimal) -> str:
    """The value as the select submits it: no trailing zeros ("1000", "1500.5")."""
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


class NewOrderForm(forms.Form):
    """One top-up: type, line number and value, plus the reference generated when the page was
    rendered. Submitting the same reference twice gives back the same order (see create_order)."""

    line_type = forms.ChoiceField(label=_("Type"), choices=LineType.choices)
    number = forms.CharField(
        label=_("Line number"), max_length=32,
        widget=forms.TextInput(attrs={"autofocus": True, "inputmode": "tel", "autocomplete": "off"}),
    )
    value = forms.ChoiceField(label=_("Value"))
    ref = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, products: list[Product], **kwargs):
        kwargs.setdefault("initial", {}).setdefault("ref", new_ref())
        super().__init__(*args, **kwargs)
        self.products = products
        self.fields["value"].choices = [("", _("Choose a value"))] + [
            (f"{p.line_type}:{value_key(p.value)}", self.value_label(p)) for p in products
        ]

    @staticmethod
    def value_label(product: Product) -> str:
        return _("%(value)s DA (cost %(cost)s DA)") % {
            "value": number_format(product.value, decimal_pos=0, force_grouping=True),
            "cost": number_format(product.cost, decimal_pos=2, force_grouping=True),
        }

    def clean_ref(self) -> str:
        ref = self.cleaned_data["ref"]
        if not REF_PATTERN.match(ref):
            raise ValidationError(_("This form is out of date: reload the page and try again."), code="bad_ref")
        return ref

    def clean(self):
        data = super().clean()
        line_type, raw_value = data.get("line_type"), data.get("value")
        if line_type and "number" in data:
            try:
                data["number"] = normalise_number(line_type, data["number"])
            except ValidationError as exc:
                self.add_error("number", exc)
        if line_type and raw_value:
            value_type, _sep, amount = raw_value.partition(":")
            try:
                value = Decimal(amount)
            except InvalidOperation:
                value = None
            if value_type != line_type or value is None:
                self.add_error("value", _("Choose a value of the selected type."))
            else:
                data["amount"] = value
        return data


class OrderFilterForm(forms.Form):
    """The orders list's filters; every field optional, bad input is ignored rather than fatal."""

    q = forms.CharField(label=_("Search"), required=False, max_length=64,
                        widget=forms.TextInput(attrs={"placeholder": _("Ref, number, top-up id, transaction")}))
    status = forms.ChoiceField(label=_("Status"), required=False)
    line_type = forms.ChoiceField(label=_("Type"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    staff = forms.TypedChoiceField(label=_("Staff"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, staff_choices: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All"))] + list(OrderStatus.choices)
        self.fields["line_type"].choices = [("", _("All"))] + list(LineType.choices)
        self.fields["staff"].choices = [("", _("All"))] + list(staff_choices)

    def filters(self) -> OrderFilters:
        if not self.is_bound:
            return OrderFilters()
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return OrderFilters(
            status=data.get("status") or "", line_type=data.get("line_type") or "",
            date_from=data.get("date_from"), date_to=data.get("date_to"), staff=data.get("staff"),
            q=data.get("q") or "",
        )
