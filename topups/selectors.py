"""Reads for the staff dashboard: what each page shows, in a fixed, small number of queries.

Nothing here calls the API; pages show the cached rows (catalog, balance) that the background
schedules keep fresh, so a slow or refusing API never slows a page down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, DecimalField, Exists, Min, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from topups.days import day_bounds
from topups.keys import LABEL_PATTERN, file_ref
from topups.models import (
    FINAL_STATUSES,
    REVERSED_LATER,
    ApiAccount,
    Batch,
    Order,
    OrderEvent,
    OrderStatus,
    Product,
    Service,
    failed_q,
    handed_back_q,
    not_menu,
)
from topups.oneclick import key_fingerprint, mask_code

S = OrderStatus

# Columns a list row or the status endpoint needs: never the whole row (notes, payload-sized fields).
LIST_FIELDS = (
    "id", "ref", "service", "line_type", "plan_code", "number", "value", "cost", "status", "topup_id", "num_trans",
    "card_code", "created_at", "processed_at", "created_by_id", "created_by__username",
)


# The API account ---------------------------------------------------------------------------------
# Reads of the configured key's row and of the API's reachability; services.account writes them.
UNREACHABLE = "topups.api-unreachable"


def current_fingerprint() -> str:
    return key_fingerprint(settings.ONECLICKDZ_API_KEY) if settings.ONECLICKDZ_API_KEY else ""


def current_account() -> ApiAccount | None:
    """The row for the configured key, if any call has been made with it."""
    fingerprint = current_fingerprint()
    if not fingerprint:
        return None
    return ApiAccount.objects.filter(key_fingerprint=fingerprint).first()


def unreachable_since() -> dict | None:
    """The record of the configured API not answering (url, since, last, cause), or None."""
    record = cache.get(UNREACHABLE)
    if record and record.get("url") == (settings.ONECLICKDZ_API_URL or "").strip().rstrip("/"):
        return record
    return None


# Permissions on codes ---------------------------------------------------------------------------


def _may_see_code(user, created_by_id: int | None) -> bool:
    own = created_by_id is not None and created_by_id == user.pk
    return own or user.has_perm("topups.view_card_code")


def can_refresh(user, order: Order) -> bool:
    return user.has_perm("topups.refresh_order") or (
        order.created_by_id is not None and order.created_by_id == user.pk
    )


def code_as_shown(user, card_code: str, created_by_id: int | None) -> str:
    """The visibility rule: the card code as this user may see it, in full (supervisors, or the
    order's creator) or masked to its last 4 characters. Screens and files get codes through
    ``topups.services.audit.show_codes``, which applies this rule and audits what it reveals."""
    return card_code if _may_see_code(user, created_by_id) else mask_code(card_code)


# Catalog ----------------------------------------------------------------------------------------


def out_of_stock_products() -> list[Product]:
    """The cached catalog's values that are out of stock now: shown, labelled, never selectable."""
    return list(Product.objects.filter(available=False).order_by("line_type", "value"))


def available_products() -> list[Product]:
    """The cached catalog's available values, both types, cheapest first (one query)."""
    return list(Product.objects.filter(available=True).order_by("line_type", "value"))


def is_on_sale(line_type: str, value) -> bool:
    """Whether the cached catalog sells this value for this type now."""
    return Product.objects.filter(line_type=line_type, value=value, available=True).exists()


# Home -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountState:
    """The API account as the home page shows it: never fetched while rendering."""

    key_missing: bool
    account: ApiAccount | None
    low_balance: bool
    threshold: Decimal
    unreachable: dict | None = None  # see account.CacheReachability

    @property
    def unreachable_cause(self) -> str:
        """What failed, in the reader's language (the client records its own words)."""
        cause = (self.unreachable or {}).get("cause", "")
        return {
            "could not connect": _("connection refused or host not found"),
            "connect timeout": _("no answer to the connection (timeout)"),
            "read timeout": _("connected, but no answer came in time"),
            "TLS error": _("secure connection failed (TLS)"),
            "connection dropped": _("connection dropped"),
            "response cut short": _("answer cut short"),
        }.get(cause, cause)

    @property
    def refused_reason(self) -> str:
        return self.account.refused_reason if self.account else ""

    @property
    def sandbox(self) -> bool:
        return bool(self.account and self.account.key_type == "SANDBOX")


def account_state() -> AccountState:
    key_missing = not settings.ONECLICKDZ_API_KEY
    account = None if key_missing else current_account()
    threshold = settings.LOW_BALANCE_THRESHOLD
    low = bool(account and account.balance is not None and account.balance < threshold)
    return AccountState(key_missing=key_missing, account=account, low_balance=low, threshold=threshold,
                        unreachable=None if key_missing else unreachable_since())


@dataclass(frozen=True)
class DaySummary:
    count: int
    total_cost: Decimal
    fulfilled: int
    failed: int

    @property
    def success_rate(self) -> int | None:
        """Percentage fulfilled among orders that reached a final outcome today."""
        settled = self.fulfilled + self.failed
        return round(100 * self.fulfilled / settled) if settled else None


def _day_costs(start: datetime, end: datetime) -> tuple[QuerySet, Q, dict]:
    """The orders whose cost counts on the day from ``start`` to ``end`` as the reports count it: the
    day's sales (``sold``), and the sales of earlier days reversed that day (a card taken back leaves
    the books on the day it is taken back, ``selectors_books._reversals``); and the aggregate of
    that cost (a reversed sale's cost taken off)."""
    sold = Q(created_at__gte=start, created_at__lt=end)
    reversed_then = Exists(OrderEvent.objects.filter(order=OuterRef("pk"), to_status__in=REVERSED_LATER,
                                                     created_at__gte=start, created_at__lt=end))
    earlier = Q(created_at__lt=start, status__in=REVERSED_LATER) & reversed_then
    orders = Order.objects.filter(sold | earlier)
    cost = {"sold_cost": Sum("cost", filter=sold & ~handed_back_q()), "reversed_cost": Sum("cost", filter=~sold)}
    return orders, sold, cost


def _net_cost(row: dict) -> Decimal:
    return (row["sold_cost"] or Decimal(0)) - (row["reversed_cost"] or Decimal(0))


def today_summary() -> DaySummary:
    """Today's orders in the shop's time zone, in one aggregate query; the cost as the reports count it."""
    start, end = day_bounds(timezone.localdate())
    orders, sold, cost = _day_costs(start, end)
    row = orders.aggregate(
        count=Count("id", filter=sold),
        fulfilled=Count("id", filter=sold & Q(status=S.FULFILLED) & not_menu()),
        failed=Count("id", filter=sold & failed_q()),
        **cost,
    )
    return DaySummary(row["count"], _net_cost(row), row["fulfilled"], row["failed"])


def recent_orders(user, limit: int = 10) -> list[Order]:
    rows = Order.objects.filter(created_by=user).only(*LIST_FIELDS[:-1]).order_by("-created_at", "-id")
    return list(rows[:limit])


@dataclass(frozen=True)
class CashierDay:
    username: str
    count: int
    fulfilled: int
    failed: int
    pending: int
    total_cost: Decimal


@dataclass(frozen=True)
class ShopOverview:
    """What a supervisor watches on the home page: the orders that need them, the queue, and
    today's work per cashier."""

    attention: list[Order]
    attention_count: int
    queued_count: int
    oldest_queued: datetime | None
    cashiers: list[CashierDay]


def shop_overview(limit: int = 10) -> ShopOverview:
    """The whole shop (every staff member's orders): three queries."""
    counts = Order.objects.filter(status__in=(S.ATTENTION, S.QUEUED)).aggregate(
        attention=Count("id", filter=Q(status=S.ATTENTION)), queued=Count("id", filter=Q(status=S.QUEUED)),
        oldest_queued=Min("created_at", filter=Q(status=S.QUEUED)))
    attention = list(Order.objects.filter(status=S.ATTENTION).select_related("created_by").only(*LIST_FIELDS)
                     .order_by("created_at", "id")[:limit])
    start, end = day_bounds(timezone.localdate())
    orders, sold, cost = _day_costs(start, end)
    per_cashier = (orders.order_by()
                   .values("created_by__username").annotate(
                       count=Count("id", filter=sold),
                       fulfilled=Count("id", filter=sold & Q(status=S.FULFILLED) & not_menu()),
                       failed=Count("id", filter=sold & failed_q()),
                       pending=Count("id", filter=sold & ~Q(status__in=FINAL_STATUSES)), **cost)
                   .order_by("-count", "created_by__username"))
    cashiers = [CashierDay(row["created_by__username"] or "—", row["count"], row["fulfilled"], row["failed"],
                           row["pending"], _net_cost(row)) for row in per_cashier]
    return ShopOverview(attention, counts["attention"], counts["queued"], counts["oldest_queued"], cashiers)


def shop_recent_orders(limit: int = 10) -> list[Order]:
    """The shop's latest orders, every staff member's."""
    return list(Order.objects.select_related("created_by").only(*LIST_FIELDS).order_by("-created_at", "-id")[:limit])


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
    orders = Order.objects.filter(card_code_digest=card_code_digest(code))
    if not user.has_perm("topups.view_card_code"):
        orders = orders.filter(created_by_id=user.pk)
    return list(orders.values_list("pk", "ref")[:100])


def is_card_code(term: str) -> bool:
    """Whether ``term`` is exactly the card code of some order, whoever may see it: what an audit
    row must mask even where the term found nothing (a GET, which never searches by code)."""
    from topups.crypto import card_code_digest
    from topups.numbers import compact

    code = compact(term)
    if len(code) < CODE_MIN or not code.isalnum():
        return False
    return Order.objects.filter(card_code_digest=card_code_digest(code)).exists()


def filtered_orders(filters: OrderFilters) -> QuerySet[Order]:
    """Orders matching the list's filters, newest first (search: ``search_q`` and the orders found by
    card code)."""
    qs = Order.objects.all()
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.line_type == Service.MOBILE:  # the type filter's "Flexy": every mobile top-up
        qs = qs.filter(service=Service.MOBILE)
    elif filters.line_type:
        qs = qs.filter(line_type=filters.line_type)
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


# Balance ----------------------------------------------------------------------------------------

# Orders the API may still debit that the fetched balance may not show yet: asked to be sent,
# being sent, or sent with no answer yet.
IN_FLIGHT = Q(status=S.NEW, send_requested_at__isnull=False) | Q(status__in=(S.SENDING, S.UNKNOWN))


def _in_flight_total() -> Subquery:
    """The money committed to orders in flight: their cost, or their value while it is unknown."""
    committed = (Order.objects.filter(IN_FLIGHT).order_by().annotate(one=Value(1)).values("one")
                 .annotate(total=Sum(Coalesce("cost", "value"))).values("total"))
    return Subquery(committed, output_field=DecimalField(max_digits=14, decimal_places=2))


def spendable_balance() -> Decimal | None:
    """What every balance pre-check compares with: the fetched balance minus the money committed
    to orders in flight (None while no balance was fetched). One query."""
    fingerprint = current_fingerprint()
    if not fingerprint:
        return None
    row = (ApiAccount.objects.filter(key_fingerprint=fingerprint).annotate(committed=_in_flight_total())
           .values("balance", "committed").first())
    if row is None or row["balance"] is None:
        return None
    return row["balance"] - (row["committed"] or Decimal(0))


# Bulk files ------------------------------------------------------------------------------------


def recent_batches(limit: int = 100) -> list[Batch]:
    """The uploaded files, newest first, without their rows (one query)."""
    return list(Batch.objects.select_related("created_by").defer("rows", "warnings")[:limit])


def batch_detail(pk: int, *, with_rows: bool = True) -> Batch | None:
    """One uploaded file with its uploader; ``with_rows`` False leaves its preview rows unread."""
    queryset = Batch.objects.select_related("created_by")
    if not with_rows:
        queryset = queryset.defer("rows")
    return queryset.filter(pk=pk).first()


@dataclass
class BatchProgress:
    counts: dict[str, int]
    total: int
    final: int
    failures: list[dict]

    @property
    def done(self) -> bool:
        return self.total > 0 and self.final == self.total


# A bulk file's orders that failed, listed with their reasons as it progresses.
FAILED_STATUSES = (S.REFUSED, S.REFUNDED, S.CANCELLED, S.ATTENTION)


def batch_progress(batch: Batch, *, failure_limit: int = 200) -> BatchProgress:
    """Orders of the batch per status and the failures with their reasons: two queries."""
    counts = dict(batch.orders.order_by().values_list("status").annotate(n=Count("id")))
    failures = list(
        batch.orders.filter(status__in=FAILED_STATUSES).order_by("id")
        .values("id", "ref", "line_type", "number", "value", "status", "refusal_code", "refusal_message")
        [:failure_limit]
    )
    final = sum(n for status, n in counts.items() if status in FINAL_STATUSES)
    return BatchProgress(counts=counts, total=sum(counts.values()), final=final, failures=failures)


RESULT_FIELDS = ("ref", "status", "refusal_code", "refusal_message", "num_trans", "card_code", "created_by_id")


def batch_result_rows(batch: Batch):
    """Each row of the file with its order (if one was created): (row, order values or None)."""
    orders = {values["ref"]: values for values in batch.orders.values(*RESULT_FIELDS)}
    for row in batch.rows:
        yield row, orders.get(row.get("order_ref"))
