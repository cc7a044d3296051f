"""Reads of orders for the staff pages: one order, the filtered list and its export, the status endpoint's
rows, and the same-line warning. Each in a fixed, small number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from topups import lines
from topups.days import day_bounds
from topups.keys import LABEL_PATTERN, file_ref
from topups.models import CardCodeDigest, Order, OrderStatus

S = OrderStatus

# Columns a list row or the status endpoint needs: never the whole row (notes, payload-sized fields).
LIST_FIELDS = (
    "id", "ref", "service", "line_type", "plan_code", "number", "value", "cost", "status", "topup_id", "num_trans",
    "card_code", "created_at", "processed_at", "created_by_id", "created_by__username",
)


# One order --------------------------------------------------------------------------------------


def order_detail(pk: int) -> Order | None:
    return Order.objects.select_related("created_by").filter(pk=pk).first()


def order_events(order: Order):
    return list(order.events.select_related(None).order_by("created_at", "id"))


STATUS_FIELDS = ("id", "ref", "status", "card_code", "num_trans", "processed_at", "refusal_code", "refusal_message", "created_by_id",
                 "service", "plan_code")


def order_status_row(pk: int) -> dict | None:
    """What the live status needs, in one query: no joins, no events."""
    return Order.objects.filter(pk=pk).values(*STATUS_FIELDS).first()


def status_counts(ids: list[int]) -> dict[str, int]:
    """How many of these orders are in each status (one query)."""
    return dict(Order.objects.filter(pk__in=ids).order_by().values_list("status").annotate(n=Count("id")))


def order_status_rows(ids: list[int]) -> list[dict]:
    """The live status of several orders, in one query."""
    return list(Order.objects.filter(pk__in=ids).values(*STATUS_FIELDS)) if ids else []


# Lists and export -------------------------------------------------------------------------------


@dataclass
class OrderFilters:
    status: str = ""
    line_type: str = ""
    date_from: date | None = None
    date_to: date | None = None
    staff: int | None = None
    q: str = ""
    # Orders whose card code is exactly the search term, among those the user may see (found and
    # audited by ``topups.services.audit.find_by_code``).
    code_matches: tuple[int, ...] = ()


# A partial ref or transaction number is looked for from this many characters on (shorter would
# match half the table).
PARTIAL_MIN = 4
# A search term of at least this many letters and digits may be a card code (the API's are 12 digits).
CODE_MIN = 8


def search_q(term: str) -> Q:
    """What the search box (orders list and admin) finds for ``term``: the line number in every form
    staff and customers say it (``topups.numbers``), the ref, top-up id or transaction number, exactly
    or by a part of at least PARTIAL_MIN characters. Card codes are not here: see ``orders_by_code``."""
    from topups.numbers import ascii_digits, compact, number_candidates

    text = ascii_digits(term).strip()  # refs and transaction numbers keep their dashes
    digits = compact(term)
    if not text:
        return Q(pk__in=[])
    match = (Q(ref__iexact=text) | Q(topup_id=text) | Q(num_trans=text) | Q(number=digits)
             | Q(number__in=number_candidates(term)))
    if LABEL_PATTERN.match(text):  # a bulk file's label ("R1"): the reference derived from it
        match |= Q(ref=file_ref(text))
    if len(text) >= PARTIAL_MIN:
        match |= Q(ref__icontains=text) | Q(num_trans__icontains=text) | Q(topup_id__icontains=text)
    if len(digits) >= PARTIAL_MIN + 2 and digits.isdigit():
        match |= Q(number__contains=digits)
    return match


def orders_by_code(user, term: str) -> list[tuple[int, str]]:
    """(id, ref) of the orders whose card code is exactly ``term`` and that ``user`` may see the code
    of (every order with topups.view_card_code, else their own): codes are encrypted, so the keyed
    digest column is the only way to find one. Nothing for a term that cannot be a code."""
    from topups.crypto import card_code_digest
    from topups.numbers import compact

    code = compact(term)
    if len(code) < CODE_MIN or not code.isalnum():
        return []
    orders = Order.objects.filter(_by_code(card_code_digest(code)))
    if not user.has_perm("topups.view_card_code"):
        orders = orders.filter(created_by_id=user.pk)
    return list(orders.values_list("pk", "ref").distinct()[:100])


def _by_code(digest: str) -> Q:
    """The orders whose card code is the term: the whole code, or one card's code or serial of an
    order holding several (a gift order's cards)."""
    return Q(card_code_digest=digest) | Q(pk__in=CardCodeDigest.objects.filter(digest=digest).values("order_id"))


def is_card_code(term: str) -> bool:
    """Whether ``term`` is exactly the card code of some order, whoever may see it: what an audit
    row must mask even where the term found nothing (a GET, which never searches by code)."""
    from topups.crypto import card_code_digest
    from topups.numbers import compact

    code = compact(term)
    if len(code) < CODE_MIN or not code.isalnum():
        return False
    return Order.objects.filter(_by_code(card_code_digest(code))).exists()


def filtered_orders(filters: OrderFilters) -> QuerySet[Order]:
    """Orders matching the list's filters, newest first (search: ``search_q`` and the orders found by
    card code)."""
    qs = Order.objects.all()
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.line_type:  # a key of a product line's type filters (a card's type, "Flexy"...)
        lookups = next((found for line in lines.all_lines() if (found := line.type_filter(filters.line_type))), None)
        qs = qs.filter(**lookups) if lookups else qs.none()
    if filters.date_from:
        qs = qs.filter(created_at__gte=day_bounds(filters.date_from)[0])
    if filters.date_to:
        qs = qs.filter(created_at__lt=day_bounds(filters.date_to)[1])
    if filters.staff:
        qs = qs.filter(created_by_id=filters.staff)
    if filters.q.strip():
        qs = qs.filter(search_q(filters.q) | Q(pk__in=filters.code_matches))
    return qs.order_by("-created_at", "-id")


def order_page(filters: OrderFilters, page: int, per_page: int = 50) -> tuple[list[Order], bool]:
    """One page of the list without COUNT(*): fetch one row more than the page to know if
    another page follows."""
    page = max(page, 1)
    start = (page - 1) * per_page
    rows = list(
        filtered_orders(filters).select_related("created_by").only(*LIST_FIELDS)[start : start + per_page + 1]
    )
    return rows[:per_page], len(rows) > per_page


def staff_choices() -> list[tuple[int, str]]:
    User = get_user_model()
    return list(User.objects.filter(is_active=True).order_by("username").values_list("pk", "username"))


EXPORT_FIELDS = ("ref", "created_at", "service", "line_type", "plan_code", "number", "value", "cost", "status", "refusal_code",
                 "refusal_message", "topup_id", "num_trans", "card_code", "processed_at", "created_by_id",
                 "created_by__username", "note")


def order_export_rows(orders: QuerySet[Order], chunk_size: int = 2000):
    """The orders' exported columns as dicts (see ``topups.order_export``), streamed from the
    database in chunks."""
    return orders.values(*EXPORT_FIELDS).iterator(chunk_size=chunk_size)


# Same line ---------------------------------------------------------------------------------------

# Orders that charged nothing: no reason to warn about a second top-up after them.
HARMLESS_STATUSES = (S.REFUSED, S.CANCELLED)


def recent_by_line(numbers, *, now: datetime | None = None) -> dict[tuple, list[str]]:
    """Refs of the orders of the last SAME_LINE_WARNING_HOURS hours (newest first) that may have
    charged, by (line type, number, value), for these numbers: what the counter confirms and the
    bulk preview flags before a second top-up of the same line and value. One query."""
    numbers = list(numbers)
    if not numbers:
        return {}
    since = (now or timezone.now()) - timedelta(hours=settings.SAME_LINE_WARNING_HOURS)
    recent: dict[tuple, list[str]] = {}
    earlier = (Order.objects.filter(number__in=numbers, created_at__gte=since).exclude(status__in=HARMLESS_STATUSES)
               .order_by("-created_at", "-id").values_list("line_type", "number", "value", "ref"))
    for line_type, number, value, ref in earlier:
        recent.setdefault((line_type, number, value), []).append(ref)
    return recent
