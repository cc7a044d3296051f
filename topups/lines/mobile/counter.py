"""The counter's mobile top-up ("flexy") side of the new-order screen, and the small JSON answer
its script asks while the clerk types (operator, plan range, cost and price). Thin: the form checks
through ``plans.check_mobile``, the price comes from ``services.pricing``; the shared flow
(``views.orders.new_order``) creates the order like any other."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from topups.keys import issue_ref, value_text
from topups.lines.mobile import plans as mobile
from topups.lines.mobile.forms import FlexyOrderForm
from topups.models import OrderStatus
from topups.roles import sees_costs
from topups.services import pricing
from topups.templatetags.dashboard import dzd
from topups.throttling import PLAN_CHECKS, TOO_MANY_CHECKS, checks_throttled

S = OrderStatus
NETWORKS = ("Mobilis", "Djezzy", "Ooredoo")
FORM_FIELDS = ("number", "plan_code", "amount")


def plan_groups(plans) -> list[tuple[str, list]]:
    """The plans by the network they top up (Mobilis, Djezzy, Ooredoo, then any other)."""
    groups: dict[str, list] = {}
    for plan in plans:
        groups.setdefault(plan.network, []).append(plan)
    order = {name: i for i, name in enumerate(NETWORKS)}
    return sorted(groups.items(), key=lambda item: (order.get(item[0], len(NETWORKS)), item[0]))


def plan_range(plan) -> str:
    """What amount a plan takes, as the clerk reads it: "100 – 10,000 DA", "500 DA" or "number only"."""
    if plan.is_menu:
        return _("number only: the API answers the number's offers")
    if plan.kind == "fixed":
        return dzd(plan.amount, "0")
    return _("%(min)s to %(max)s") % {"min": dzd(plan.min_amount, "0"), "max": dzd(plan.max_amount, "0")}


def sale_of(quote) -> pricing.Quote:
    """The selling price of a checked top-up: the shop's rule on its cost (amount x multiplier)."""
    return pricing.PriceBook().quote_mobile(quote.plan.code, quote.amount, quote.cost)


class MobileCounter:
    initial_keys = FORM_FIELDS

    def __init__(self, line) -> None:
        self.line = line

    def form(self, data=None, *, initial=None, catalog, user) -> FlexyOrderForm:
        return FlexyOrderForm(data, initial=dict(initial or {}), plans=catalog, user=user)

    def before_submit(self, request, catalog):
        """A POST with ``check`` (the way without a script) asks the plans, the range and the price,
        throttled like the live check: over the limit, (the form as typed, unchecked, 429)."""
        if "check" in request.POST and checks_throttled(request, PLAN_CHECKS):
            form = self.form(initial={key: request.POST.get(key, "") for key in FORM_FIELDS}, catalog=catalog,
                             user=request.user)
            messages.error(request, TOO_MANY_CHECKS)
            return form, 429
        return None

    def checking(self, request) -> bool:
        return "check" in request.POST

    def sale_fields(self, data: dict) -> dict:
        return {"plan_code": data["plan_code"], "number": data["number"], "value": data["amount"]}

    def context(self, form: FlexyOrderForm) -> dict:
        sale = sale_of(form.quote) if form.quote is not None else None
        for plan in form.plans:
            plan.range_label = plan_range(plan)
        return {"plan_groups": plan_groups(form.plans), "operator": form.typed_operator(), "quote": form.quote,
                "sale": sale, "quote_range": plan_range(form.quote.plan) if form.quote else ""}


def offers_of(order, user) -> list[dict]:
    """The offers the API suggested instead of this order, each ready to be sent by ``user`` as a
    new order with one click (its own fresh reference)."""
    offers = []
    for offer in order.suggested_offers or []:
        if not isinstance(offer, dict) or not offer.get("plan_code"):
            continue
        amount = offer.get("amount")
        offers.append({"typename": str(offer.get("typename") or offer["plan_code"]), "plan_code": offer["plan_code"],
                       "amount": "" if amount in (None, "") else str(amount), "number": order.number,
                       "ref": issue_ref(user)})
    return offers


@require_GET
@login_required
@permission_required("topups.send_order", raise_exception=True)
def flexy_check(request):
    """What the counter shows while the clerk types: the number's operator, the chosen plan's range,
    and once everything fits, the cost and the selling price; or the first problem of each field.
    The same checks as sending (the form), nothing stored, no API call. Throttled per user
    (PLAN_CHECK_RATE): 429 with the message to show."""
    if checks_throttled(request, PLAN_CHECKS):
        return JsonResponse({"ok": False, "throttled": True, "message": str(TOO_MANY_CHECKS)}, status=429)
    data = {key: request.GET.get(key, "") for key in FORM_FIELDS}
    form = FlexyOrderForm({**data, "ref": issue_ref(request.user), "check": "1"}, plans=mobile.plans(),
                          user=request.user)
    operator = form.typed_operator()
    answer = {"operator": operator}
    plan = next((p for p in form.plans if p.code == data["plan_code"]), None)
    if plan is not None:
        answer["range"] = plan_range(plan)
        answer["kind"] = "menu" if plan.is_menu else plan.kind
    if form.is_valid():
        sale = sale_of(form.quote)
        answer.update(ok=True, number=form.cleaned_data["number"], amount=value_text(form.quote.amount),
                      price=dzd(sale.price))
        if sees_costs(request.user):  # a cashier sees the price only
            answer["cost"] = dzd(form.quote.cost) if form.quote.cost is not None else ""
            if form.quote.cost is None:
                answer["cost_unknown"] = _("The cost is not known until the API answers.")
    else:
        problems = [str(e) for e in form.non_field_errors()]
        answer.update(ok=False, message=problems[0] if problems else "",
                      errors={name: errors[0] for name, errors in form.errors.items()
                              if name in FORM_FIELDS and data[name]})
    return JsonResponse(answer)


urlpatterns = [path("orders/flexy-check.json", flexy_check, name="flexy_check")]
