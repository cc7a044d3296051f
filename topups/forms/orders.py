"""Forms of the counter's internet orders and of the orders list: parse and check input, nothing else
(services do the work)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from topups import lines
from topups.inputs import DayField
from topups.models import OrderStatus
from topups.selectors import OrderFilters


def checked_ref(user, value: str) -> str:
    """The order reference a counter's form carries, as issued to ``user`` when the page was
    rendered (``keys.issued_ref``); a form out of date (or a ref of its own) is refused."""
    from topups.keys import issued_ref

    ref = issued_ref(user, value)
    if ref is None:
        raise ValidationError(_("This form is out of date: reload the page and try again."), code="bad_ref")
    return ref


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
        self.fields["line_type"].choices = [("", _("All"))] + [
            choice for line in lines.all_lines() for choice in line.type_filters()]
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
