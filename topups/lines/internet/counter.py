"""The counter's internet card side: the form with the catalog's values priced, and the line
check's JSON answer while the clerk types. The shared flow (``views.orders.new_order``) does the
rest."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from topups import selectors
from topups.lines.internet.checks import check_line
from topups.lines.internet.forms import NewOrderForm
from topups.models import LineType
from topups.services import pricing
from topups.throttling import NUMBER_CHECKS, TOO_MANY_CHECKS, checks_throttled


class InternetCounter:
    initial_keys = ("line_type", "number", "value")

    def __init__(self, line) -> None:
        self.line = line

    def form(self, data=None, *, initial=None, catalog, user) -> NewOrderForm:
        return NewOrderForm(data, initial=dict(initial or {}), products=catalog, user=user)

    def before_submit(self, request, catalog):
        return None

    def checking(self, request) -> bool:
        return False

    def sale_fields(self, data: dict) -> dict:
        return {"line_type": data["line_type"], "number": data["number"], "value": data["amount"]}

    def context(self, form: NewOrderForm) -> dict:
        pricing.quote_products(form.products)  # the price the customer pays, beside each value
        return {"products": form.products, "line_types": LineType.choices,
                "out_of_stock": selectors.out_of_stock_products()}


@require_GET
@login_required
@permission_required("topups.send_order", raise_exception=True)
def check_number(request):
    """Ask the API whether a line exists (ncli, offer) before sending: a small JSON answer.
    Throttled per user (NUMBER_CHECK_RATE): 429 with a message, which does not block sending."""
    if checks_throttled(request, NUMBER_CHECKS):
        return JsonResponse({"ok": False, "throttled": True, "message": str(TOO_MANY_CHECKS)}, status=429)
    line_type, raw = request.GET.get("line_type", ""), request.GET.get("number", "")
    if line_type not in LineType.values:
        return JsonResponse({"ok": False, "message": _("Choose the line type first.")}, status=400)
    try:
        result = check_line(line_type=line_type, number=raw)
    except ValidationError as exc:
        return JsonResponse({"ok": False, "message": exc.messages[0]}, status=400)
    answer = {"ok": result.ok, "number": result.number, "message": result.message}
    if result.ok:
        answer.update(ncli=result.ncli, offre=result.offre)
    elif result.code and not result.unavailable:
        answer["code"] = result.code
    return JsonResponse(answer, status=503 if result.unavailable else 200)


urlpatterns = [path("orders/check-number.json", check_number, name="check_number")]
