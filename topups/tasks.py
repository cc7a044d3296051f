"""django-q2 entry points: thin wrappers over the services. Every task is safe to run twice."""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from topups.oneclick import errors as api_errors
from topups.services import account, catalog, orders
from topups.services.actors import Actor

log = logging.getLogger("topups.tasks")

# The sweeper runs inside one scheduled task a minute (django-q2's scheduler wakes every 30 s)
# and runs a sync cycle every CYCLE_SECONDS for SWEEP_SECONDS, well inside the task timeout.
CYCLE_SECONDS = 5
SWEEP_SECONDS = 50
SWEEP_LOCK = "topups:sweeper"


def send_orders(order_ids: list[int], actor_label: str, actor_user_id: int | None = None) -> list[dict]:
    """Send a chunk of orders (each claimed atomically, so a duplicate task sends nothing),
    then refresh the cached balance once.

    A send waits on the API most of its time, so a chunk is sent by a few threads at once
    (settings.ONECLICKDZ_SEND_THREADS); the claim keeps it at most once whatever runs in parallel.
    Inside a transaction (tests), other threads could not see the rows: then it sends inline.
    """
    actor = Actor.task("send", on_behalf_of=Actor(actor_label, actor_user_id))
    threads = min(settings.ONECLICKDZ_SEND_THREADS, len(order_ids))
    if threads <= 1 or connection.in_atomic_block:
        reports = [orders.send_order(order_id=order_id, actor=actor) for order_id in order_ids]
    else:
        def send_one(order_id: int) -> orders.SendReport:
            try:
                return orders.send_order(order_id=order_id, actor=actor)
            finally:
                connection.close()  # this thread's own connection

        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send") as pool:
            reports = list(pool.map(send_one, order_ids))
    if any(r.outcome in ("sent", "adopted") for r in reports):
        refresh_balance()
        start_sweeper()
    return [r.__dict__ for r in reports]


def start_sweeper() -> None:
    """Start following new orders now rather than at the next scheduler tick (up to 30 s away).
    A no-op when a sweeper already runs (it takes the lock), or when tasks run inline."""
    from django_q.conf import Conf
    from django_q.tasks import async_task

    if not Conf.SYNC and cache.get(SWEEP_LOCK) is None:
        async_task("topups.tasks.sync_orders", task_name="order status sync (after a send)")


def sync_orders(sweep_seconds: float = SWEEP_SECONDS, cycle_seconds: float = CYCLE_SECONDS) -> dict:
    """Run status-sync cycles for about a minute. A lock keeps two sweepers from overlapping;
    if one is already running this one returns at once."""
    token = uuid.uuid4().hex
    if not cache.add(SWEEP_LOCK, token, timeout=int(sweep_seconds) + 10):
        return {"skipped": True}
    totals = {"cycles": 0, "checked": 0, "changed": 0, "api_calls": 0}
    try:
        deadline = time.monotonic() + sweep_seconds
        while True:
            started = time.monotonic()
            report = orders.sync_due_orders()
            totals["cycles"] += 1
            totals["checked"] += report.checked
            totals["changed"] += report.changed
            totals["api_calls"] += report.api_calls
            remaining = deadline - time.monotonic()
            if remaining <= cycle_seconds:
                break
            time.sleep(max(0.0, cycle_seconds - (time.monotonic() - started)))
    finally:
        if cache.get(SWEEP_LOCK) == token:
            cache.delete(SWEEP_LOCK)
    return totals


def refresh_catalog() -> dict:
    report = catalog.sync_catalog()
    return {"created": report.created, "updated": report.updated, "disappeared": report.disappeared,
            "failed": report.failed}


def refresh_balance() -> str | None:
    try:
        row = account.refresh_account()
    except api_errors.OneClickError as exc:
        log.warning("balance refresh failed: %s", exc)
        return None
    return str(row.balance) if row else None
