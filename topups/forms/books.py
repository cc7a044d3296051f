"""Forms of the books' pages (prices, cash sessions, reports): parse input, nothing else. Amounts
and dates are read by ``topups.inputs`` so that every page refuses the same bad input the same way."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from topups.inputs import AmountField, DayField
from topups.models import LineType, PriceMode, Rounding
from topups.selectors.books import default_range


class PriceRuleForm(forms.Form):
    product = forms.ChoiceField(label=_("Product"))
    mode = forms.ChoiceField(label=_("Price set as"), choices=PriceMode.choices)
    amount = AmountField(label=_("Amount"))
    rounding = forms.TypedChoiceField(label=_("Rounding"), choices=Rounding.choices, coerce=int, initial=0)
    allow_below_cost = forms.BooleanField(label=_("Allow selling below cost"), required=False)

    def __init__(self, *args, products=(), plans=(), **kwargs):
        super().__init__(*args, **kwargs)
        operators = sorted({p.network for p in plans if p.network})
        self.fields["product"].choices = [("", _("Shop default (products without their own price)"))] + [
            (f"{p.line_type}:{p.value}", str(p)) for p in products] + [
            (f"operator:{name}", _("Flexy fee: every %(operator)s plan") % {"operator": name}) for name in operators] + [
            (f"plan:{p.code}", _("Flexy fee: plan %(plan)s") % {"plan": p.code}) for p in plans if not p.is_menu]
        self.fields["product"].required = False

    def clean_product(self) -> dict:
        """The rule's target: {"line_type", "value"} for a card or the default, {"plan_code"} or
        {"operator"} for a flexy fee."""
        raw = self.cleaned_data.get("product") or ""
        kind, _sep, rest = raw.partition(":")
        if kind == "plan":
            return {"line_type": "", "value": "0", "plan_code": rest}
        if kind == "operator":
            return {"line_type": "", "value": "0", "operator": rest}
        if kind and kind not in LineType.values:
            raise ValidationError(_("Choose a product from the list."))
        return {"line_type": kind, "value": rest or "0"}


class OpenTillForm(forms.Form):
    opening_cash = AmountField(label=_("Cash in the drawer at opening (DZD)"))


class CloseTillForm(forms.Form):
    counted_cash = AmountField(label=_("Cash counted in the drawer (DZD)"),
                               error_messages={"required": _("Enter the cash counted in the drawer.")})
    note = forms.CharField(label=_("Explain a difference (optional)"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ApproveTillForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ReportForm(forms.Form):
    start = DayField(label=_("From"), required=False)
    end = DayField(label=_("To"), required=False)
    group = forms.ChoiceField(label=_("Per"), required=False, choices=[
        ("day", _("Day")), ("cashier", _("Cashier")), ("product", _("Product")), ("category", _("Category")),
        ("line_type", _("Line type")),
        ("service", _("Service"))])

    def clean(self):
        data = super().clean()
        start, end = default_range()
        data["start"] = data.get("start") or start
        data["end"] = data.get("end") or max(end, data["start"])
        data["group"] = data.get("group") or "day"
        if data["end"] < data["start"]:
            raise ValidationError(_("The end date is before the start date."))
        if data["end"] - data["start"] > timedelta(days=366):
            raise ValidationError(_("At most one year at a time."))
        if data["start"] > timezone.localdate():
            raise ValidationError(_("The start date is in the future."))
        return data
