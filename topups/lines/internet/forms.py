"""The counter's internet card form: type, line number and value, checked as ``InternetLine`` checks
a sale."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from topups.forms.orders import checked_ref, confirm_same_line
from topups.keys import issue_ref, parse_value_key, value_key
from topups.models import LineType, Product
from topups.numbers import TypedNumberField, normalise_number


class NewOrderForm(forms.Form):
    """One top-up: type, line number and value, plus the reference generated when the page was
    rendered. Submitting the same reference twice gives back the same order (see create_order)."""

    line_type = forms.ChoiceField(label=_("Type"), choices=LineType.choices)
    number = TypedNumberField(
        label=_("Line number"),
        widget=forms.TextInput(attrs={"autofocus": True, "inputmode": "tel", "autocomplete": "off"}),
    )
    value = forms.ChoiceField(label=_("Value"))
    ref = forms.CharField(widget=forms.HiddenInput, max_length=128)
    # The newest order of the same line and value the clerk saw in the warning and confirmed.
    repeat_of = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args, products: list[Product], user, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("ref", issue_ref(user))
        super().__init__(*args, **kwargs)
        self.user = user
        self.products = products
        self.same_line_refs: list[str] = []
        self.fields["value"].choices = [("", _("Choose a value"))] + [
            (value_key(p.line_type, p.value), self.value_label(p)) for p in products
        ]

    @staticmethod
    def value_label(product: Product) -> str:
        return _("%(value)s DA (cost %(cost)s DA)") % {
            "value": number_format(product.value, decimal_pos=0, force_grouping=True),
            "cost": number_format(product.cost, decimal_pos=2, force_grouping=True),
        }

    def clean_ref(self) -> str:
        return checked_ref(self.user, self.cleaned_data["ref"])

    def clean(self):
        data = super().clean()
        line_type, raw_value = data.get("line_type"), data.get("value")
        if line_type and "number" in data:
            try:
                data["number"] = normalise_number(line_type, data["number"])
            except ValidationError as exc:
                self.add_error("number", exc)
        if line_type and raw_value:
            value_type, value = parse_value_key(raw_value)
            if value_type != line_type or value is None:
                self.add_error("value", _("Choose a value of the selected type."))
            else:
                data["amount"] = value
        if not self.errors:
            self._confirm_same_line(data)
        return data

    def _confirm_same_line(self, data) -> None:
        confirm_same_line(self, data["line_type"], data)
