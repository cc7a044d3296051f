"""Reads for the home page: the day's figures, the cashier's recent orders and the owner's overview of the
shop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from topups.days import day_bounds
from topups.models import (
    FINAL_STATUSES,
    REVERSED_LATER,
    Order,
    OrderEvent,
    OrderStatus,
    failed_q,
    handed_back_q,
    not_menu,
    part_back_cost,
)
from topups.selectors.orders import LIST_FIELDS

S = OrderStatus


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
    the books on the day it is taken back, ``selectors.books._reversals``); and the aggregate of
    that cost (a reversed sale's cost taken off)."""
    sold = Q(created_at__gte=start, created_at__lt=end)
    reversed_then = Exists(OrderEvent.objects.filter(order=OuterRef("pk"), to_status__in=REVERSED_LATER,
                                                     created_at__gte=start, created_at__lt=end))
    earlier = Q(created_at__lt=start, status__in=REVERSED_LATER) & reversed_then
    orders = Order.objects.filter(sold | earlier)
    cost = {"sold_cost": Sum("cost", filter=sold & ~handed_back_q()), "reversed_cost": Sum("cost", filter=~sold),
            "part_cost": Sum(part_back_cost(), filter=sold & ~handed_back_q() & Q(hand_back__isnull=False))}
    return orders, sold, cost


def _net_cost(row: dict) -> Decimal:
    part = (row["part_cost"] or Decimal(0)).quantize(Decimal("0.01"))
    return (row["sold_cost"] or Decimal(0)) - (row["reversed_cost"] or Decimal(0)) - part


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
