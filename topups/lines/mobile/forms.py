"""The counter's mobile top-up ("flexy") form: parse the number, the plan and the amount, and let
``topups.lines.mobile.plans.check_mobile`` say whether they fit, before anything is sent."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from topups.forms.orders import checked_ref, confirm_same_line
from topups.inputs import MAX_AMOUNT_TEXT
from topups.keys import issue_ref
from topups.lines.mobile import plans as mobile
from topups.numbers import OPERATOR_BY_PREFIX, TypedNumberField, compact, national_digits


def typed_operator(raw: str) -> str:
    """The operator of a number as far as it is typed (``066``, ``+213 7``, ``٠٥``): Ooredoo,
    Mobilis or Djezzy from the digit after the trunk 0 or the country code, "" before that digit."""
    digits = compact(raw or "").lstrip("+")
    national = national_digits(digits)
    digits = digits if national is None else national
    return OPERATOR_BY_PREFIX.get(digits[:1], "") if digits.isdigit() else ""


class FlexyOrderForm(forms.Form):
    """One mobile top-up: the number (0XXXXXXXXX; +213, 00213 and spaces accepted), a plan of the
    number's operator and, for a plan that takes one, the amount; plus the reference issued when the
    page was rendered (a second submission gives back the same order, see create_order)."""

    number = TypedNumberField(label=_("Mobile number"))
    plan_code = forms.CharField(label=_("Plan"), max_length=64)
    # Read by the one bounded parser (check_mobile): a longer text is told "too large" there.
    amount = forms.CharField(label=_("Amount (DA)"), max_length=MAX_AMOUNT_TEXT, required=False)
    ref = forms.CharField(widget=forms.HiddenInput, max_length=128)
    # The newest order of the same number and amount the clerk saw in the warning and confirmed.
    repeat_of = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args, plans: list, user, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("ref", issue_ref(user))
        super().__init__(*args, **kwargs)
        self.user = user
        self.plans = plans
        self.quote = None  # the checked MobileQuote once valid
        self.same_line_refs: list[str] = []

    def clean_ref(self) -> str:
        return checked_ref(self.user, self.cleaned_data["ref"])

    def clean_number(self) -> str:
        return mobile.normalise_mobile(self.cleaned_data["number"])

    def clean(self):
        data = super().clean()
        if "number" not in data or not data.get("plan_code"):
            return data
        try:
            held = next((p for p in self.plans if p.code == data["plan_code"]), None)  # no second read
            self.quote = mobile.check_mobile(plan_code=data["plan_code"], number=data["number"],
                                             amount=data.get("amount") or None, plan=held)
        except ValidationError as exc:
            self.add_error("number", exc)
        except mobile.MobileInputError as exc:
            self.add_error(getattr(exc, "field", None), str(exc))
        else:
            data["number"], data["amount"] = self.quote.number, self.quote.amount
            if not self.errors and not self.data.get("check"):
                confirm_same_line(self, "", data)
        return data

    def typed_operator(self) -> str:
        """The operator of the number as typed, for the page: "" when not known yet."""
        return typed_operator(self.data.get("number") if self.is_bound else self.initial.get("number"))
