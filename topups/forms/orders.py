"""Forms of the counter's internet orders and of the orders list: parse and check input, nothing else
(services do the work)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from topups.inputs import DayField
from topups.keys import issue_ref, issued_ref, parse_value_key, value_key
from topups.models import LineType, OrderStatus, Product, Service
from topups.numbers import TypedNumberField, normalise_number
from topups.selectors import OrderFilters


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
        ref = issued_ref(self.user, self.cleaned_data["ref"])
        if ref is None:
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


def confirm_same_line(form: forms.Form, line_type: str, data: dict) -> None:
    """A second top-up of the same line and value (``data``'s number and amount; a mobile top-up's
    line type is blank) within SAME_LINE_WARNING_HOURS is sent only once the clerk confirmed it,
    having seen the newest earlier order's ref (a resubmission of this very form is not a second
    top-up: create_order gives its order back). Sets ``form.same_line_refs`` when it asks."""
    from topups.models import Order
    from topups.selectors import recent_by_line

    refs = recent_by_line([data["number"]]).get((line_type, data["number"], data["amount"]), [])
    refs = [ref for ref in refs if ref != data["ref"]]
    if not refs or data.get("repeat_of") == refs[0] or Order.objects.filter(ref=data["ref"]).exists():
        return
    form.same_line_refs = refs
    form.add_error(None, ValidationError(_("This line was already topped up with this value recently."),
                                         code="same_line"))


# Pages of 50 the list serves: beyond, the offset would be absurd (and overflow the database's
# integers for a hand-typed ?page=99999999999999999999).
MAX_PAGE = 10_000


def page_number(raw: str | None) -> int:
    """The list's ?page=: ASCII digits only, within 1..MAX_PAGE; anything else is page 1."""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        return 1
    return min(max(int(raw), 1), MAX_PAGE)


def order_ids(values: list[str], limit: int = 100) -> list[int]:
    """Order ids of a query (?id=1&id=2): ASCII digits that fit a database integer, at most ``limit``."""
    return [int(v) for v in values[:limit] if v.isascii() and v.isdigit() and len(v) <= 18]


class OrderFilterForm(forms.Form):
    """The orders list's filters; every field optional, bad input is ignored rather than fatal
    (and shown next to its field)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=64,
                        widget=forms.TextInput(attrs={"placeholder": _("Number, ref, transaction or card code")}))
    status = forms.ChoiceField(label=_("Status"), required=False)
    line_type = forms.ChoiceField(label=_("Type"), required=False)
    date_from = DayField(label=_("From"), required=False)
    date_to = DayField(label=_("To"), required=False)
    staff = forms.TypedChoiceField(label=_("Staff"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, staff_choices: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All"))] + list(OrderStatus.choices)
        self.fields["line_type"].choices = [("", _("All"))] + list(LineType.choices) + [(Service.MOBILE, _("Flexy"))]
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
