"""The counter's order entry, one flow for every product line (the line gives its form and its part
of the page), and the order pages: one order with its live status, refresh and receipt, and the filtered list with its export. Thin: each view parses
input, calls one service or selector, and renders; who sees a card code and who may refresh an order is
decided in topups.selectors.visibility, so the pages, the JSON endpoints and the CSV export apply the
same rules."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotModified, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from topups import lines, selectors
from topups.forms.orders import OrderFilterForm, order_ids, page_number
from topups.models import (
    FINAL_STATUSES,
    HANDED_BACK_STATUSES,
    TRACKED_STATUSES,
    Order,
    OrderStatus,
    is_menu_code,
    status_label,
)
from topups.notes import COST_NOTES
from topups.oneclick import mask_code
from topups.order_export import export_orders
from topups.roles import sees_costs
from topups.services import audit, receipts, tills
from topups.services.actors import Actor
from topups.services.orders import OrderInputError, create_order
from topups.services.sync import refresh_orders
from topups.status_words import status_explanation, status_tone

log = logging.getLogger("topups.dashboard")
S = OrderStatus


def _get_order(pk: int) -> Order:
    order = selectors.order_detail(pk)
    if order is None:
        raise Http404(_("No such order."))
    return order


def _when(value) -> str:
    return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT") if value else ""


# New order ----------------------------------------------------------------------------------------


def _counter_page(request, line, counter, form, *, status: int = 200, **extra):
    """The new-order page: the lines' tabs, and this line's form with what the line adds."""
    extra.setdefault("no_till", tills.session_missing(form.user.pk))
    context = {"line": line, "lines": sorted(lines.all_lines(), key=lambda each: each.rank), "form": form,
               "same_line_hours": f"{settings.SAME_LINE_WARNING_HOURS:g}", **counter.context(form), **extra}
    return render(request, "topups/new_order.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(["topups.add_order", "topups.send_order"], raise_exception=True)
def new_order(request, line: str = ""):
    """Create and send one order of a product line (``/orders/new/<line>/``; ``/orders/new/`` is the
    first line, and an older link's ``?service=`` still names one). The line's counter gives the
    form and what the page shows; the sale is checked and created by the one door
    (``orders.create_order``). The hidden ref makes a repeated submission return the same order."""
    code = line or (request.POST if request.method == "POST" else request.GET).get("service") or lines.default_code()
    product_line = lines.find(code)
    if product_line is None:
        raise Http404(_("No such product line."))
    counter = product_line.counter()
    catalog = product_line.catalog()
    if request.method == "GET":
        initial = {key: request.GET[key] for key in counter.initial_keys if key in request.GET}
        return _counter_page(request, product_line, counter,
                             counter.form(initial=initial, catalog=catalog, user=request.user))
    if (early := counter.before_submit(request, catalog)) is not None:
        form, status = early
        return _counter_page(request, product_line, counter, form, status=status)
    form = counter.form(request.POST, catalog=catalog, user=request.user)
    valid = form.is_valid()
    if counter.checking(request) or not valid:  # a same-line warning is a question, not an error
        return _counter_page(request, product_line, counter, form, checked=True,
                             status=200 if valid or getattr(form, "same_line_refs", None) else 400)
    data = form.cleaned_data
    try:
        order, created = create_order(service=product_line.code, **counter.sale_fields(data),
                                      actor=Actor.user(request.user), ref=data["ref"], send=True, catalog=catalog)
    except (OrderInputError, ValidationError) as exc:
        _add_order_error(form, exc)
        return _counter_page(request, product_line, counter, form, status=400)
    if created:  # sent inline when tasks run inline: show a refusal at once
        order.refresh_from_db()
    if order.status == S.REFUSED:
        # Refused before anything was charged: give the form back, filled, with a fresh ref.
        retry = counter.form(initial=product_line.form_initial(order), catalog=catalog, user=request.user)
        return _counter_page(request, product_line, counter, retry, refused=order,
                             offers=product_line.offers(order, request.user))
    if not created:
        messages.info(request, _("This order was already submitted: here it is. No second order was made."))
    return redirect("topups:order", pk=order.pk)


def _add_order_error(form, exc: Exception) -> None:
    """Why the order was not created, on the form; said once: a missing cash session is already
    the page's own warning (``no_till``), so it is not repeated among the form's errors."""
    message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
    if message != str(tills.NO_SESSION):
        form.add_error(None, message)


# One order ----------------------------------------------------------------------------------------


@require_GET
@login_required
@permission_required("topups.view_order", raise_exception=True)
def order_detail(request, pk: int):
    order = _get_order(pk)
    audit.show_order_codes(request, [order], via="order page")
    return render(request, "topups/order_detail.html", {
        "order": order, "handed_back": order.is_handed_back and bool(order.price),
        "events": _events_shown(order, request.user),
        "can_refresh": order.status in TRACKED_STATUSES and selectors.can_refresh(request.user, order),
        "retry_query": _retry_query(order),
        "offers": order.line.offers(order, request.user)
        if order.status in HANDED_BACK_STATUSES and request.user.has_perm("topups.send_order") else [],
    })


def _events_shown(order: Order, user) -> list:
    """The order's history for ``user``: a cashier reads no cost, so a note naming one (the ledger's
    cost correction, the provider's refund of a card taken back) is left out, and so is an event
    that only carried such a note; a status move stays."""
    events = selectors.order_events(order)
    if sees_costs(user):
        return events
    shown = []
    for event in events:
        if event.note_code in COST_NOTES:
            if event.from_status == event.to_status:
                continue
            event.note = ""
        shown.append(event)
    return shown


def _retry_query(order: Order) -> str:
    """The new-order form's query that fills it with this order again."""
    return urlencode(order.line.form_initial(order))


def _status_payloads(request, rows: list[dict]) -> list[dict]:
    """The live status of each row; its code through the one door (audited the first time this
    session is shown it: polling the same fulfilled order writes no row per poll)."""
    codes = audit.show_codes(request, [(row["ref"], row["card_code"], row["created_by_id"]) for row in rows],
                             via="status.json", new_only=True)
    return [_status_payload(row, code) for row, code in zip(rows, codes, strict=True)]


def _status_payload(row: dict, code: str) -> dict:
    final = row["status"] in FINAL_STATUSES
    return {
        "id": row["id"],
        "status": row["status"],
        "label": status_label(row["status"], row["plan_code"]),
        "tone": status_tone(row["status"], row["plan_code"]),
        "explanation": status_explanation(row["status"], row["refusal_code"], line=lines.find(row["service"]),
                                          menu=is_menu_code(row["plan_code"])),
        "final": final,
        "card_code": code,
        "num_trans": row["num_trans"],
        "processed_at": _when(row["processed_at"]),
    }


@require_GET
@login_required
@permission_required("topups.view_order", raise_exception=True)
def order_status(request, pk: int):
    """The live status of one order, polled by the order page: one query for the order, and a
    bodiless 304 when the poller already holds this state (``If-None-Match``)."""
    row = selectors.order_status_row(pk)
    if row is None:
        raise Http404(_("No such order."))
    # The tag is bound to the session: a 304 only answers the session that was sent the full
    # answer (and audited for its code), never one that guessed a tag.
    state = salted_hmac("topups.order-status", f"{request.session.session_key}:{sorted(row.items())}")
    etag = f'"{state.hexdigest()[:32]}"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        response = JsonResponse(_status_payloads(request, [row])[0])
    response["ETag"] = etag
    return response


@require_GET
@login_required
@permission_required("topups.view_order", raise_exception=True)
def order_statuses(request):
    """Live statuses of several orders (the lists poll this once for all their rows)."""
    rows = selectors.order_status_rows(order_ids(request.GET.getlist("id")))
    return JsonResponse({"orders": _status_payloads(request, rows)})


@require_POST
@login_required
@permission_required("topups.view_order", raise_exception=True)
def order_refresh(request, pk: int):
    """Ask the API for this order's state now (its creator, or staff allowed to refresh orders)."""
    order = _get_order(pk)
    if not selectors.can_refresh(request.user, order):
        raise PermissionDenied
    # An API problem is not raised: the report carries it (and the order is asked again later).
    report = refresh_orders([order], actor=Actor.user(request.user))  # audited: a person asked
    if report.changed:
        messages.success(request, _("Status updated."))
    elif report.errors:
        messages.warning(request, _("API problem: %(error)s") % {"error": report.errors[0]})
    else:
        messages.info(request, _("No change yet."))
    return redirect("topups:order", pk=order.pk)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("topups.view_order", raise_exception=True)
def order_receipt(request, pk: int):
    """A receipt for a thermal printer, 58 or 80 mm wide (``width``), in the customer's language
    (``lang``: en, fr or ar; the staff member's own by default). GET shows it and counts nothing
    (the paper is hidden from the printer), so its language links are plain links; the Print button
    POSTs here (CSRF-protected, with the width and the language), which counts and audits the print
    and hands the paper to the printer."""
    order = _get_order(pk)
    source = request.POST if request.method == "POST" else request.GET
    width = "58" if source.get("width") == "58" else "80"
    languages = dict(settings.LANGUAGES)
    language = source.get("lang") if source.get("lang") in languages else translation.get_language()
    audit.show_order_codes(request, [order], via="receipt")
    status = 200
    with translation.override(language):
        if request.method == "POST":
            try:
                extras = receipts.printed(request, order)
            except receipts.NotPrintable:
                extras, status = receipts.preview(order), 403
        else:
            extras = receipts.preview(order)
        return render(request, "topups/receipt.html", {
            "order": order, "width": width, "shop_name": settings.SHOP_NAME, "printed_at": timezone.now(),
            "receipt_languages": [(code, translation.get_language_info(code)["name_local"]) for code in languages],
            "counted": request.method == "POST" and status == 200, **extras,
        }, status=status)


# Lists --------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("topups.view_order", raise_exception=True)
def order_list(request):
    """The orders list. Its filter form is a POST, so a search term (which may be a card code)
    never travels in a URL, an access log or the browser's history; a card code that finds one
    order lands on that order. A GET keeps working for links (a ref, a number, a status) but
    never searches by code."""
    form, filters = _order_filters(request, via="orders list")
    if request.method == "POST" and len(filters.code_matches) == 1:
        return redirect("topups:order", pk=filters.code_matches[0])
    data = request.POST if request.method == "POST" else request.GET
    page = page_number(data.get("page"))
    orders, has_next = selectors.order_page(filters, page)
    audit.show_order_codes(request, orders, via="orders list")
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "topups/order_list.html", {
        "form": form, "orders": orders, "page": page, "has_next": has_next, "query": query.urlencode(),
        "can_export": request.user.has_perm("topups.export_order"), "searched": request.method == "POST",
        "carried": _filter_fields(form, data),
    })


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("topups.export_order", raise_exception=True)
def order_export(request):
    """The filtered orders as CSV, streamed in chunks so 100,000 rows never sit in memory, or as
    XLSX (format=xlsx) for Excel. The list's search posts its filters here (a term never in a URL)."""
    data = request.POST if request.method == "POST" else request.GET
    file_format = "xlsx" if data.get("format") == "xlsx" else "csv"
    _form, filters = _order_filters(request, via=f"orders.{file_format}")
    logged = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in vars(filters).items() if v}
    # The term is a card code (found, or typed into a GET's address): the audit trail keeps it masked.
    if filters.code_matches or (filters.q.strip() and selectors.is_card_code(filters.q)):
        logged["q"] = mask_code(filters.q.strip())
    return export_orders(request, selectors.filtered_orders(filters), via=f"orders.{file_format}",
                         target=f"orders.{file_format}", detail={"filters": logged}, file_format=file_format)


def _order_filters(request, *, via: str) -> tuple[OrderFilterForm, selectors.OrderFilters]:
    """The list's and the export's filters, from the POSTed form (or a link's query string); a
    search term that is a card code the user may see finds its order (audited), on a POST only."""
    data = request.POST if request.method == "POST" else request.GET
    form = OrderFilterForm(data or None, staff_choices=selectors.staff_choices())
    filters = form.filters()
    if filters.q.strip() and request.method == "POST":
        filters.code_matches = audit.find_by_code(request, filters.q, via=via)
    return form, filters


def _filter_fields(form: OrderFilterForm, data) -> list[tuple[str, str]]:
    """The filters as (name, value) pairs for the hidden fields of the pager and export forms."""
    return [(name, value) for name in form.fields for value in data.getlist(name) if value]
