"""django-q2 entry points: thin wrappers over the services. Every task is safe to run twice."""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from topups.lines.internet import catalog
from topups.lines.mobile import plans as mobile
from topups.oneclick import errors as api_errors
from topups.services import account, dispatch, reconnect, sending, sync
from topups.services.actors import Actor

log = logging.getLogger("topups.tasks")

# The sweeper runs a sync cycle every CYCLE_SECONDS for SWEEP_SECONDS, well inside the task
# timeout, then hands over to its successor; the minute schedule (django-q2's scheduler wakes
# every 30 s) only restarts the chain. A cycle with nothing due is three indexed queries.
CYCLE_SECONDS = 1
MIN_PAUSE_SECONDS = 0.2
SWEEP_SECONDS = 50
SWEEP_LOCK = "topups:sweeper"


# Kept free at the end of a task's timeout: re-enqueueing what was left, closing connections.
TASK_MARGIN_SECONDS = 3.0
# How many times a send task sends again, at once, an order that a database blip sent back to NEW.
DATABASE_RESENDS = 3


def send_orders(order_ids: list[int], actor_label: str, actor_user_id: int | None = None) -> list[dict]:
    """Send a chunk of orders (each claimed atomically, so a duplicate task sends nothing).

    A send waits on the API most of its time, so a chunk is sent by a few threads at once
    (settings.ONECLICKDZ_SEND_THREADS); the claim keeps it at most once whatever runs in parallel.
    Inside a transaction (tests), other threads could not see the rows: then it sends inline.

    The task must end before django-q2's timeout kills it mid-send: an order is started only if
    its worst case still fits; the others are handed to a new task, untouched (still NEW).
    """
    actor = Actor.task("send", on_behalf_of=Actor(actor_label, actor_user_id))
    deadline = time.monotonic() + settings.Q_CLUSTER["timeout"] - TASK_MARGIN_SECONDS
    worst = sending.worst_case_send_seconds()
    deferred: list[int] = []

    def send_one(index: int, order_id: int) -> sending.SendReport | None:
        # The first order always goes (the settings check makes one send fit), so a task never
        # just hands its whole chunk on.
        if index and time.monotonic() + worst > deadline:
            deferred.append(order_id)
            return None
        try:
            report = sending.send_order(order_id=order_id, actor=actor, deadline=deadline)
            # Stopped on a database blip before its POST, and back to NEW: sent again now, while
            # the customer waits at the counter (the claim keeps it at most once).
            for _again in range(DATABASE_RESENDS):
                if report.outcome != "retry_now" or time.monotonic() + worst > deadline:
                    break
                report = sending.send_order(order_id=order_id, actor=actor, deadline=deadline)
            return report
        except reconnect.DATABASE_ERRORS as exc:
            # The database stayed away longer than the retries: hand the order to a new task
            # (its claim sends it if it is still NEW, and nothing if it is not).
            log.warning("send of order %s stopped on the database (%s): handed to a new task", order_id,
                        type(exc).__name__)
            reconnect.drop_connection()
            deferred.append(order_id)
            return None

    threads = min(settings.ONECLICKDZ_SEND_THREADS, len(order_ids))
    if threads <= 1 or connection.in_atomic_block:
        reports = [send_one(index, order_id) for index, order_id in enumerate(order_ids)]
    else:
        def send_in_thread(index: int, order_id: int) -> sending.SendReport | None:
            try:
                return send_one(index, order_id)
            finally:
                reconnect.drop_connection()  # this thread's own connection

        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send") as pool:
            reports = list(pool.map(send_in_thread, range(len(order_ids)), order_ids))
    done = [r for r in reports if r is not None]
    if deferred:
        log.info("send task out of time or database: %d orders handed to a new task", len(deferred))
        dispatch.enqueue_sends(sorted(deferred), Actor(actor_label, actor_user_id))
    if any(r.outcome in ("sent", "adopted") for r in done):
        # No balance call: the cached balance is debited as the API accepts each order (see
        # lifecycle); the balance schedule fetches the API's figure.
        start_sweeper()
    return [r.__dict__ for r in done]


def start_sweeper() -> None:
    """Make sure a sweeper follows the orders just sent, now rather than at the next scheduler
    tick. Always enqueues: a sweeper already running makes this one return at once, and one
    about to end hands over to a successor itself (see ``sync_orders``). No-op when tasks run
    inline."""
    from django_q.conf import Conf

    if not Conf.SYNC:
        _enqueue_sweeper("order status sync (after a send)")


def _enqueue_sweeper(name: str) -> None:
    from django_q.tasks import async_task

    async_task("topups.tasks.sync_orders", task_name=name)


def sync_orders(sweep_seconds: float | None = None, cycle_seconds: float = CYCLE_SECONDS) -> dict:
    """Run status-sync cycles for about a minute (less when the task timeout is shorter). A lock
    keeps two sweepers from overlapping; if one is already running this one returns at once.

    No gap between sweepers: one that ends releases the lock and then, while any order is
    tracked, enqueues its successor (which starts within a worker's poll, well inside one cycle).
    A ``start_sweeper`` turned away while the lock was held is covered by that check, made after
    the release. The schedule's minute tick only restarts the chain after a lost worker."""
    if sweep_seconds is None:
        sweep_seconds = max(0.0, min(SWEEP_SECONDS, settings.Q_CLUSTER["timeout"] - 10))
    token = uuid.uuid4().hex
    if not cache.add(SWEEP_LOCK, token, timeout=int(sweep_seconds) + 10):
        return {"skipped": True}
    totals = {"cycles": 0, "checked": 0, "changed": 0, "api_calls": 0}
    try:
        deadline = time.monotonic() + sweep_seconds
        while True:
            started = time.monotonic()
            try:
                report = sync.sync_due_orders()
            except reconnect.DATABASE_ERRORS as exc:
                # A database blip: the next cycle, on a new connection, picks up where this one
                # stopped (every write of a cycle is conditional), instead of the chain ending.
                log.warning("status sync cycle stopped on the database (%s); next cycle shortly", type(exc).__name__)
                reconnect.drop_connection()
                if deadline - time.monotonic() <= cycle_seconds:
                    break
                time.sleep(cycle_seconds)
                continue
            totals["cycles"] += 1
            totals["checked"] += report.checked
            totals["changed"] += report.changed
            totals["api_calls"] += report.api_calls
            remaining = deadline - time.monotonic()
            if remaining <= cycle_seconds:
                break
            time.sleep(_pause(cycle_seconds - (time.monotonic() - started)))
    finally:
        if cache.get(SWEEP_LOCK) == token:
            cache.delete(SWEEP_LOCK)
    from django_q.conf import Conf

    if not Conf.SYNC and sweep_seconds > 0 and sync.anything_to_follow():
        _enqueue_sweeper("order status sync (hand-over)")
        totals["handed_over"] = True
    return totals


def _pause(until_next_cycle: float) -> float:
    """How long a sweeper sleeps: until its next cycle, or until the next order is due if that
    comes first (a look on its beat is not delayed by up to a cycle). A send sets its order's first
    look seconds ahead, so an order sent during the pause is never due before it ends."""
    pause = max(0.0, until_next_cycle)
    due = sync.next_due_at()
    if due is not None:
        pause = min(pause, max(MIN_PAUSE_SECONDS, (due - timezone.now()).total_seconds()))
    return pause


def refresh_catalog() -> dict:
    report = catalog.sync_catalog()
    return {"created": report.created, "updated": report.updated, "disappeared": report.disappeared,
            "failed": report.failed}


def refresh_mobile_plans() -> dict:
    report = mobile.sync_plans()
    return {"created": report.created, "updated": report.updated, "removed": report.removed,
            "failed": report.failed}


def refresh_balance() -> str | None:
    try:
        row = account.refresh_account()
    except api_errors.OneClickError as exc:
        log.warning("balance refresh failed: %s", exc)
        return None
    return str(row.balance) if row else None


def reconcile_ledger() -> dict:
    """Pull new ledger rows, then match them (topups.services.reconcile)."""
    from topups.services import reconcile

    # The sync stops walking in time for the matching to fit in the task's timeout; it resumes.
    report = reconcile.run(max_seconds=max(settings.Q_CLUSTER["timeout"] / 2, 5))
    return {"pages": report.sync.pages, "complete": report.sync.complete, "skipped": report.sync.skipped,
            "faults": report.sync.faults, "progress": report.sync.progress(), "errors": report.sync.errors, "rows": report.match.rows, "flags": report.match.flags,
            "open_flags": report.open_flags}


def send_notice(notice_id: int) -> str:
    """Tell a late order's customer it settled, on one channel (topups.services.notices). Safe to
    run twice: the notice is claimed before it is sent, and one already sent is skipped."""
    from topups.services import notices

    return notices.send_notice(notice_id)
