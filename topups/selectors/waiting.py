"""The waiting list: orders paid and not delivered yet (queued, uncertain, needing a person, or
processing for longer than WAITING_AFTER_MINUTES), and late orders settled lately whose customer
has not been told yet, with how long each has waited and whether the customer was told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from topups.models import FINAL_STATUSES, ClaimLink, Notice, NoticeStatus, Order, OrderStatus, not_menu

S = OrderStatus
# Not delivered, and no longer something the customer would wait for at the counter.
LATE_AT_ONCE = frozenset({S.QUEUED, S.UNCERTAIN, S.ATTENTION})
IN_PROGRESS = frozenset({S.NEW, S.SENDING, S.UNKNOWN, S.HANDLING})


@dataclass
class WaitingRow:
    order: Order
    until: datetime  # now, or when it settled
    contact: bool
    told: bool
    notice_failed: bool

    @property
    def waited(self) -> timedelta:
        return self.until - self.order.created_at

    @property
    def settled(self) -> bool:
        return self.order.status in FINAL_STATUSES


def _waiting_q(now: datetime) -> Q:
    since = now - timedelta(minutes=settings.WAITING_AFTER_MINUTES)
    return Q(status__in=LATE_AT_ONCE) | Q(status__in=IN_PROGRESS, created_at__lt=since)


def _untold_q(now: datetime) -> Q:
    """Settled within the link's life, with a contact, and not told yet (no notice sent)."""
    # Driven by the links with a contact (a few rows), never by scanning every final order.
    with_contact = ClaimLink.objects.filter(revoked_at__isnull=True).exclude(phone="", email="").values("order_id")
    sent = Notice.objects.filter(order=OuterRef("pk"), status=NoticeStatus.SENT)
    return (Q(pk__in=with_contact)
            & Q(status__in=FINAL_STATUSES, updated_at__gte=now - timedelta(days=settings.CLAIM_LINK_DAYS))
            & ~Q(Exists(sent)))


def _rows(now: datetime) -> QuerySet:
    return Order.objects.filter(not_menu()).filter(_waiting_q(now) | _untold_q(now))


def waiting_count(now: datetime | None = None) -> int:
    """How many orders the waiting list shows (the home page's counter): those still waiting (not
    final, found by status) and those settled but not told (final, found from their links), two
    disjoint sets each counted on its index rather than one OR that scans every order."""
    now = now or timezone.now()
    orders = Order.objects.filter(not_menu())
    return orders.filter(_waiting_q(now)).count() + orders.filter(_untold_q(now)).count()


def waiting_orders(now: datetime | None = None, limit: int = 500) -> list[WaitingRow]:
    """The waiting list, the longest wait first."""
    now = now or timezone.now()
    contact = ClaimLink.objects.filter(order=OuterRef("pk"), revoked_at__isnull=True).exclude(phone="", email="")
    sent = Notice.objects.filter(order=OuterRef("pk"), status=NoticeStatus.SENT)
    failed = Notice.objects.filter(order=OuterRef("pk"), status=NoticeStatus.FAILED)
    orders = (_rows(now).annotate(has_contact=Exists(contact), told=Exists(sent), notice_failed=Exists(failed))
              .select_related("created_by").order_by("created_at", "id")[:limit])
    return [WaitingRow(order=o, until=o.updated_at if o.status in FINAL_STATUSES else now,
                       contact=o.has_contact, told=o.told, notice_failed=o.notice_failed) for o in orders]
