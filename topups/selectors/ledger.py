"""The reconciliation's reads: a day's figures (our books against the provider's ledger), its flags
and rows for the page and the export (``services.reconcile`` matches and flags)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum

from topups import lines
from topups.days import day_bounds
from topups.ledger_types import meaning_of, refund_types
from topups.models import (
    ACCEPTED_STATUSES,
    LedgerFlag,
    LedgerRow,
    LedgerState,
    Order,
    OrderEvent,
    OrderStatus,
)

S = OrderStatus
# The longest an order may wait for its refund (queued 12-48 h, then a margin).
REFUND_WITHIN = timedelta(days=7)


def rows_between(start: datetime, end: datetime):
    """Ledger rows with a time in [start, end)."""
    return LedgerRow.objects.filter(Q(time__gte=start) & Q(time__lt=end))



@dataclass
class DaySummary:
    day: date
    by_type: list[dict]
    by_state: dict[str, int]
    rows: int
    opening: Decimal | None
    closing: Decimal | None
    our_debits: Decimal
    our_refunds: Decimal
    other_movements: Decimal
    expected_closing: Decimal | None
    difference: Decimal | None
    open_flags: int


def day_summary(day: date) -> DaySummary:
    """A day's reconciliation: totals per type, rows per match state, opening and closing balance
    from the ledger against what our orders say (opening - our debits + our refunds + the other
    movements the ledger shows). A constant number of queries whatever the day holds."""
    start, end = day_bounds(day)
    rows = rows_between(start, end)
    by_type = list(rows.values("type").annotate(count=Count("pk"), total=Sum("amount")).order_by("type"))
    for entry in by_type:
        meaning = meaning_of(entry["type"])
        entry["money_in"] = meaning.money_in if meaning else None
    by_state = dict.fromkeys(LedgerState.values, 0)
    by_state.update(rows.values_list("state").annotate(count=Count("pk")).values_list("state", "count"))
    by_state["not_orders"] = by_state[LedgerState.RECORDED] + by_state[LedgerState.OTHER_SERVICE]
    first = rows.filter(raw__isnull=True).order_by("time", "pk").only("old_balance").first()
    last = rows.filter(raw__isnull=True).order_by("-time", "-pk").only("new_balance").first()
    our_debits = Order.objects.filter(sent_at__gte=start, sent_at__lt=end, status__in=ACCEPTED_STATUSES).exclude(
        topup_id="").aggregate(total=Sum("cost"))["total"] or Decimal(0)
    # Refunded orders sent in the week before (the API refunds within 48 h) whose refund we recorded
    # that day: the events are reached through each order, never scanned by date.
    refunded = OrderEvent.objects.filter(order=OuterRef("pk"), to_status=S.REFUNDED, created_at__gte=start,
                                         created_at__lt=end)
    our_refunds = Order.objects.filter(status=S.REFUNDED, sent_at__gte=start - REFUND_WITHIN, sent_at__lt=end).filter(
        Exists(refunded)).aggregate(total=Sum("cost"))["total"] or Decimal(0)
    # A part handed back by the provider on a delivered order (a gift-card order partly filled): the
    # ledger's refund matched to it, on the day the provider made it.
    our_refunds += LedgerRow.objects.filter(type__in=refund_types(), time__gte=start, time__lt=end,
                                            state=LedgerState.MATCHED).exclude(
        order__status__in=[S.REFUNDED, S.TAKEN_BACK]).aggregate(total=Sum("amount"))["total"] or 0
    # A card taken back after delivery: its refund is the ledger's, on the day the provider made it.
    our_refunds += LedgerRow.objects.filter(type__in=refund_types(), time__gte=start, time__lt=end,
                                            order__status=S.TAKEN_BACK).aggregate(total=Sum("order__cost"))["total"] or 0
    other = Decimal(0)
    for entry in by_type:
        meaning = meaning_of(entry["type"])
        if meaning is not None and lines.find(meaning.service) is not None:
            continue
        amount = entry["total"] or Decimal(0)
        money_in = meaning.money_in if meaning is not None else False
        other += amount if money_in else -amount
    opening = first.old_balance if first else None
    closing = last.new_balance if last else None
    expected = opening - our_debits + our_refunds + other if opening is not None else None
    day_flags = LedgerFlag.objects.filter(Q(day=day), resolved_at__isnull=True).count()
    return DaySummary(
        day=day, by_type=by_type, by_state=by_state, rows=sum(by_state[s] for s in LedgerState.values), opening=opening, closing=closing,
        our_debits=our_debits, our_refunds=our_refunds, other_movements=other, expected_closing=expected,
        difference=(closing - expected) if closing is not None and expected is not None else None,
        open_flags=day_flags,
    )


def day_flags(day: date):
    """The day's flags, open ones first, with their row and order."""
    return (LedgerFlag.objects.filter(day=day).select_related("row", "order", "resolved_by")
            .order_by(F("resolved_at").asc(nulls_first=True), "-id"))


def open_flag_days(*, exclude: date | None = None) -> list[dict]:
    """Other days with open flags: [{day, count}], most recent first (at most 30)."""
    days = (LedgerFlag.objects.filter(resolved_at__isnull=True).exclude(day=exclude)
            .values("day").annotate(count=Count("pk")).order_by("-day"))
    return list(days[:30])


def flag_detail(pk: int) -> LedgerFlag | None:
    return LedgerFlag.objects.filter(pk=pk).first()


def day_rows(day: date):
    """The day's ledger rows for the export, oldest first, as dicts (streamed in chunks), with
    the kind of the first flag on each row."""
    start, end = day_bounds(day)
    first_flag = LedgerFlag.objects.filter(row=OuterRef("pk")).order_by("pk").values("kind")[:1]
    return (rows_between(start, end).order_by("time", "pk")
            .annotate(flag_kinds=Subquery(first_flag))
            .values("time", "type", "operation", "amount", "old_balance", "new_balance", "objid", "order__ref",
                    "state", "flag_kinds", "api_id", "note").iterator(chunk_size=2000))
