"""Following sent orders until they are final: ask the API, plan, apply.

One cycle of the sweeper (``sync_due_orders``) recovers orders left in SENDING by a dead worker,
re-enqueues overdue sends, and refreshes the tracked orders that are due, per service (see
``topups.lines``) with one list walk for many and check-id / check-ref for a few. What an answer means is decided
in ``planning``; the changes are written through ``lifecycle`` in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from topups import lines
from topups.lines.base import ProductLine
from topups.models import TRACKED_STATUSES, Order, OrderStatus
from topups.oneclick import Topup
from topups.oneclick import errors as api_errors
from topups.services import audit, dispatch, lifecycle, planning
from topups.services.account import get_client
from topups.services.actors import SYNC, Actor
from topups.services.lifecycle import Change

S = OrderStatus

# Orders due at once from which one /internet/list walk is cheaper than a check-id per order; from
# RECENT_LIST_THRESHOLD when all were created in the last minutes (the looks of the fast window
# share a beat, see planning.on_beat, and the first page of a walk holds the newest orders).
LIST_THRESHOLD = 5
RECENT_LIST_THRESHOLD = 2
LIST_PAGE_SIZE = 100
MAX_LIST_PAGES = 40
MAX_SINGLE_CHECKS = 60


@dataclass
class SyncReport:
    checked: int = 0
    changed: int = 0
    api_calls: int = 0
    resends: list[int] = field(default_factory=list)
    stale_recovered: int = 0
    sends_redispatched: int = 0
    errors: list[str] = field(default_factory=list)


def refresh_orders(orders, *, actor: Actor, now: datetime | None = None) -> SyncReport:
    """Ask the API for the current state of these orders (the tracked ones) and record it.

    Uses one /internet/list walk for many orders and check-id / check-ref for a few. An order
    the API does not know (after an ambiguous send) is scheduled for a resend with its reference
    once that is safe. Final and unsent orders are never asked about.
    """
    now = now or timezone.now()
    report = SyncReport()
    due = [o for o in orders if o.status in TRACKED_STATUSES]
    if not due:
        return report
    if actor.user_id is not None:  # a person asked: the sync's own cycles are not audited
        audit.record_orders(actor=actor, action="refresh", refs=[o.ref for o in due])
    report.checked = len(due)
    found, not_found, postponed, others = {}, set(), {}, []
    for line in lines.all_lines():
        group = [o for o in due if o.service == line.code]
        if not group:
            continue
        # A list walk carries the state of every order in its window: what it finds for tracked
        # orders that are not due yet (QUEUED or UNCERTAIN ones, looked at hourly) is applied too.
        walk = _walk_pays(group, now)
        companions = _walk_companions(group, line.code) if walk else []
        group_found, group_not_found, group_postponed = _fetch_states(line, group, report, companions, walk=walk,
                                                                      now=now)
        found.update(group_found)
        not_found |= group_not_found
        postponed.update(group_postponed)
        others += companions
    changes = [o.line.change_from_answer(o, found[o.pk], now) for o in due if o.pk in found]
    # For the others, only what moves them (a new status), not a routine re-check of each.
    changes += [c for c in (o.line.change_from_answer(o, found[o.pk], now) for o in others if o.pk in found)
                if c.moves]
    changes += [planning.change_not_found(o, now) for o in due if o.pk in not_found]
    retry_at = now + timedelta(seconds=30)
    changes += [planning.change_unreadable(o, now, retry_at, postponed[o.pk]) for o in due if o.pk in postponed]
    applied = lifecycle.apply_changes(changes, actor)
    report.changed = sum(1 for c in changes if c.order_id in applied and c.moves)
    report.resends = [o.pk for o in due if o.pk in not_found and o.pk in applied and planning.may_resend(o, now)]
    if report.resends:
        dispatch.enqueue_resends(report.resends, actor)
    return report


def _walk_pays(due: list[Order], now: datetime) -> bool:
    """One list walk rather than a check-id per order: for many due orders, or for a few recent
    ones (an older order's window would reach back over many pages)."""
    recent = min(o.created_at for o in due) >= now - planning.FAST_WINDOW
    return len(due) >= (RECENT_LIST_THRESHOLD if recent else LIST_THRESHOLD)


def _walk_companions(due: list[Order], service: str) -> list[Order]:
    """Tracked orders of ``service`` that are not due but fall in a list walk's window (see
    ``_walk_list``)."""
    return list(Order.objects.filter(status__in=TRACKED_STATUSES, service=service, created_at__gte=_walk_start(due))
                .exclude(pk__in=[o.pk for o in due]).order_by("pk")[:MAX_LIST_PAGES * LIST_PAGE_SIZE])


def _walk_start(due: list[Order]) -> datetime:
    return min(o.created_at for o in due) - timedelta(minutes=5)


def _fetch_states(line: ProductLine, due: list[Order], report: SyncReport, others: list[Order] = (), *,
                  walk: bool = False, now: datetime | None = None
                  ) -> tuple[dict[int, Topup], set[int], dict[int, dict | None]]:
    """Ask the API about each due order of one product line: (found top-ups, ids it does not know, ids to
    ask later with the unreadable answer that postponed them, None when it was not asked). A list
    walk also fills in what it finds for ``others`` (no single check is made for them). An order
    we hold no id of is looked for as its line says (``ProductLine.recover``: by reference)."""
    client = get_client()
    found: dict[int, Topup] = {}
    not_found: set[int] = set()
    if walk:
        try:
            _walk_list(line, client, due, found, report, others)
        except api_errors.OneClickError as exc:
            report.errors.append(str(exc))
            if isinstance(exc, (api_errors.AuthError, api_errors.ConfigurationError)):
                return found, not_found, {o.pk: None for o in due if o.pk not in found}
    remaining = [o for o in due if o.pk not in found]
    postponed: dict[int, dict | None] = {}
    for index, order in enumerate(remaining):
        if index >= MAX_SINGLE_CHECKS:
            postponed.update((o.pk, None) for o in remaining[index:])
            break
        try:
            report.api_calls += 1
            answer = (line.check_id(client, order.topup_id) if order.topup_id
                      else line.recover(client, order, now or timezone.now()))
            if answer is None:  # not known yet either way: asked again later
                postponed[order.pk] = None
            else:
                found[order.pk] = answer
        except api_errors.NotFound:
            not_found.add(order.pk)
        except api_errors.BadResponse as exc:
            # This order's answer cannot be read: skip it (asked again later), the others go on.
            # Past its age limit it needs attention, this answer kept (planning.change_unreadable).
            report.errors.append(f"{order.ref}: {exc}")
            postponed[order.pk] = planning.error_payload(exc)
        except api_errors.OneClickError as exc:
            # The API is struggling or refuses us: stop calling for this cycle.
            report.errors.append(f"{order.ref}: {exc}")
            postponed.update((o.pk, None) for o in remaining[index:])
            break
    return found, not_found, postponed


def _walk_list(line: ProductLine, client, due: list[Order], found: dict[int, Topup], report: SyncReport,
               others: list[Order] = ()) -> None:
    """Match due orders (and ``others``) against the product line's list pages (/internet/list,
    /mobile/list) covering the due orders' creation window; walks until every due order is matched."""
    by_ref = {o.ref: o for o in [*others, *due]}
    by_id = {o.topup_id: o for o in [*others, *due] if o.topup_id}
    due_ids = {o.pk for o in due}
    start = _walk_start(due)
    end = timezone.now() + timedelta(minutes=5)
    # The window also holds orders that are not due (and other clients' orders): walk until every
    # due order is matched or the pages end, within a fixed bound of calls per cycle.
    page = 1
    while page <= MAX_LIST_PAGES and len(due_ids & found.keys()) < len(due):
        report.api_calls += 1
        result = line.list_page(client, page=page, page_size=LIST_PAGE_SIZE, from_=start, to=end)
        for topup in result.items:
            order = by_ref.get(topup.ref) or by_id.get(topup.id)
            if order is not None:
                found[order.pk] = topup
        if result.unreadable:
            report.errors.append(f"list page {page}: {len(result.unreadable)} unreadable item(s) skipped")
        if not result.has_next:
            break
        page += 1


def sync_due_orders(*, now: datetime | None = None, batch_size: int = 500) -> SyncReport:
    """One cycle of the status sync: recover orders left in SENDING by a dead worker, redispatch
    sends whose task was lost, and refresh tracked orders that are due. Query count is constant
    per batch; final orders are never asked about."""
    now = now or timezone.now()
    stale = recover_stale_sending(now)
    redispatched = _redispatch_waiting_sends(now)
    due = list(
        Order.objects.filter(status__in=TRACKED_STATUSES, next_check_at__lte=now)
        .order_by("next_check_at")[:batch_size]
    )
    report = refresh_orders(due, actor=SYNC, now=now)
    report.stale_recovered, report.sends_redispatched = stale, redispatched
    return report


def recover_stale_sending(now: datetime) -> int:
    """SENDING past its lease means the worker died mid-send: we cannot know whether the POST
    left, so the order becomes UNKNOWN and is reconciled by its reference."""
    stale = list(Order.objects.filter(status=S.SENDING, next_check_at__lte=now).only("pk", "send_attempts"))
    changes = [
        Change(o.pk, S.SENDING, S.UNKNOWN, {"next_check_at": now},
               _("The send was interrupted; checking by reference."), attempt=o.send_attempts)
        for o in stale
    ]
    return len(lifecycle.apply_changes(changes, SYNC))


def _redispatch_waiting_sends(now: datetime) -> int:
    """NEW orders whose send was requested but is overdue (task lost, or API was down)."""
    waiting = list(
        Order.objects.filter(status=S.NEW, send_requested_at__isnull=False, next_check_at__lte=now)
        .values_list("pk", flat=True)[:500]
    )
    if waiting:
        Order.objects.filter(pk__in=waiting, status=S.NEW).update(next_check_at=now + timedelta(minutes=2))
        dispatch.enqueue_sends(waiting, SYNC)
    return len(waiting)


def next_due_at() -> datetime | None:
    """When the next tracked order is due (the sweeper sleeps until then, within its cycle)."""
    return Order.objects.filter(status__in=TRACKED_STATUSES).aggregate(due=Min("next_check_at"))["due"]


def anything_to_follow() -> bool:
    """Whether a sweeper has work ahead: a tracked order, an order being sent, or a send waiting."""
    return Order.objects.filter(status__in=[*TRACKED_STATUSES, S.SENDING]).exists() or Order.objects.filter(
        status=S.NEW, send_requested_at__isnull=False).exists()


def schedule_refresh(order_ids: list[int]) -> int:
    """Make tracked orders due now, so the next sync cycle (within a minute) refreshes them."""
    return Order.objects.filter(pk__in=order_ids, status__in=TRACKED_STATUSES).update(next_check_at=timezone.now())
