"""The shop's books on the dashboard: the cashier's cash session (open, close), the sessions for
supervisors (approve, reopen, print on A4 or the receipt printer), the price list and the reports
with their charts and exports. Thin: parse, call one service or selector, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from topups.csv_export import table_response
from topups.forms.books import ApproveTillForm, CloseTillForm, OpenTillForm, PriceRuleForm, ReportForm
from topups.models import MobilePlan, Product, Till, TillStatus
from topups.selectors import books
from topups.services import audit, pricing, tills
from topups.services.actors import Actor


def _till(request, pk: int) -> Till:
    till = Till.objects.select_related("cashier", "closed_by", "approved_by").filter(pk=pk).first()
    if till is None:
        raise Http404(_("No such cash session."))
    if till.cashier_id != request.user.pk and not request.user.has_perm("topups.view_till"):
        raise PermissionDenied
    return till


def _till_context(till: Till) -> dict:
    numbers = tills.figures(till) if till.status == TillStatus.OPEN else None
    return {"till": till, "figures": numbers, "orders": books.till_orders(till),
            "by_service": books.till_by_service(till), "hand_backs": books.till_hand_backs(till)}


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("topups.add_till", raise_exception=True)
def my_till(request):
    """The cashier's own session: open it, see its figures as they stand, close it."""
    actor = Actor.user(request.user)
    till = tills.open_till_of(request.user.pk)
    open_form, close_form = OpenTillForm(), CloseTillForm()
    if request.method == "POST":
        try:
            if request.POST.get("action") == "open":
                open_form = OpenTillForm(request.POST)
                if open_form.is_valid():
                    tills.open_till(actor=actor, opening_cash=open_form.cleaned_data["opening_cash"], request=request)
                    messages.success(request, _("Cash session opened."))
                    return redirect("topups:my_till")
            elif till is not None:
                close_form = CloseTillForm(request.POST)
                if close_form.is_valid():
                    closed = tills.close_till(till_id=till.pk, counted_cash=close_form.cleaned_data["counted_cash"],
                                              note=close_form.cleaned_data["note"], actor=actor, request=request)
                    messages.success(request, _("Cash session closed."))
                    return redirect("topups:till", pk=closed.pk)
        except (tills.TillError, ValidationError) as exc:
            messages.error(request, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
            return redirect("topups:my_till")
    context = _till_context(till) if till else {"till": None}
    return render(request, "books/my_till.html", {**context, "open_form": open_form, "close_form": close_form,
                                                 "recent": Till.objects.filter(cashier=request.user)[:10]},
                  status=400 if request.method == "POST" else 200)


@require_GET
@login_required
@permission_required("topups.view_till", raise_exception=True)
def till_list(request):
    return render(request, "books/till_list.html", {"tills": books.recent_tills()})


@require_GET
@login_required
@permission_required("topups.add_till", raise_exception=True)
def till_detail(request, pk: int):
    """One session: A4 page (printable), or ?paper=80 / 58 for the receipt printer."""
    till = _till(request, pk)
    supervisor = request.user.has_perm("topups.approve_till")
    own = supervisor and tills.decides_own(till, request.user.pk)
    context = {**_till_context(till), "printed_at": timezone.now(), "earlier_closes": books.earlier_closes(till),
               "can_approve": supervisor and not own, "decides_own": own, "approve_form": ApproveTillForm()}
    paper = request.GET.get("paper")
    if paper in ("58", "80"):
        return render(request, "books/till_receipt.html", {**context, "width": paper, "shop_name": settings.SHOP_NAME})
    return render(request, "books/till_detail.html", context)


@require_POST
@login_required
@permission_required("topups.approve_till", raise_exception=True)
def till_decide(request, pk: int, decision: str):
    """A supervisor approves a closed session (with an optional note), or reopens it; never one
    they sold in or closed (the service refuses, the page says why)."""
    actor = Actor.user(request.user)
    try:
        if decision == "approve":
            form = ApproveTillForm(request.POST)
            if not form.is_valid():
                raise tills.TillError(form.errors["note"][0])
            tills.approve_till(till_id=pk, actor=actor, note=form.cleaned_data["note"], request=request)
        else:
            tills.reopen_till(till_id=pk, actor=actor, request=request)
    except tills.TillError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Cash session approved.") if decision == "approve" else
                         _("Cash session reopened."))
    return redirect("topups:till", pk=pk)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("topups.set_price", raise_exception=True)
def prices(request):
    """The price list: each product's cost, rule and price now (below cost flagged), and the form
    that sets one product's rule or the shop default."""
    products = list(Product.objects.all())
    form = PriceRuleForm(request.POST or None, products=products, plans=list(MobilePlan.objects.all()))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                pricing.set_rule(**data["product"], mode=data["mode"], amount=data["amount"],
                                 rounding=data["rounding"], allow_below_cost=data["allow_below_cost"],
                                 actor=Actor.user(request.user), request=request)
            except ValidationError as exc:
                form.add_error("amount", exc.messages[0])
            else:
                messages.success(request, _("Price saved."))
                return redirect("topups:prices")
        status = 400
    return render(request, "books/prices.html", {"form": form, "rows": books.price_list(),
                                                 "flexy_rows": books.flexy_price_list(),
                                                 "default": books.default_rule()}, status=status)


def _report_header(group_label: str) -> list[str]:
    return [group_label, _("Orders"), _("Revenue"), _("Cost"), _("Profit"), _("Refunds"), _("Refunded orders")]


@require_GET
@login_required
@permission_required("topups.view_books", raise_exception=True)
def reports(request):
    """Orders, revenue, cost, profit and refunds per day, cashier, product or line type over a date
    range, with charts; ?format=csv or xlsx exports the table (audited)."""
    form = ReportForm(request.GET)
    if not form.is_valid():
        return render(request, "books/reports.html", {"form": form}, status=400)
    data = form.cleaned_data
    result = books.report(start=data["start"], end=data["end"], group=data["group"])
    file_format = request.GET.get("format")
    if file_format in ("csv", "xlsx"):
        audit.record(actor=Actor.user(request.user), action="export", target=f"report.{file_format}",
                     detail={"start": data["start"].isoformat(), "end": data["end"].isoformat(),
                             "group": data["group"]}, request=request)
        rows = [[r.label, r.orders, r.revenue, r.cost, r.profit, r.refunds, r.refund_count] for r in result.rows]
        group_label = str(dict(form.fields["group"].choices)[data["group"]])
        return table_response(_report_header(group_label), rows, f"report-{data['group']}", file_format)
    rtl = get_language_bidi()
    daily = result if data["group"] == "day" else books.report(start=data["start"], end=data["end"], group="day")
    mix = result if data["group"] == "product" else books.report(start=data["start"], end=data["end"],
                                                                  group="product")
    query = request.GET.copy()
    query.pop("format", None)
    return render(request, "books/reports.html", {
        "form": form, "report": result, "query": query.urlencode(),
        "daily": books.daily_chart(daily.rows, start=data["start"], end=data["end"], rtl=rtl),
        "mix": books.mix_chart(mix.rows, rtl=rtl), "below_cost": books.sold_below_cost(start=data["start"], end=data["end"]),
    })
