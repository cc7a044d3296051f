"""Ledger sync: copy the provider's ledger (GET /account/transactions) into ``LedgerRow``.

The API lists newest first. A walk covers a fixed time window ``[from, to]`` chosen when it starts
(``to`` a little in the future, so the API's clock need not agree with ours): a row arriving while
we walk can only push older rows onto the next page, so a row may be read twice but never
skipped. Rows are stored by their ledger id (unique, INSERT ... ON CONFLICT DO NOTHING), so a
repeat, a second run or a second worker changes nothing. The walk's window and page are kept on
the ``LedgerCursor`` row: a walk cut short (API unreachable, worker killed) resumes at its page.
A walk that meets a passing fault (a connection reset, a 429, a 5xx, a cut-off answer, once the
client's own GET retries are spent) pauses and reads the same page again, within the run, until the
run's fault budget (``LEDGER_SYNC_FAULT_BUDGET`` failed calls) or its time (``max_seconds``) is spent;
a refused key or a bad request ends the run at once. A complete walk moves the cursor to the newest
row it saw; the next window starts ``LEDGER_SYNC_OVERLAP_SECONDS`` before it, for rows the API
writes late. A first run reads ``LEDGER_BACKFILL_DAYS`` back.

Queries per page: one INSERT for the rows, one UPDATE of the cursor (constant).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from topups.models import LedgerCursor, LedgerRow
from topups.oneclick import Transaction
from topups.oneclick import errors as api_errors
from topups.oneclick.parsing import to_datetime, to_decimal
from topups.services.account import get_client

PAGE_SIZE = 100
# ``to`` of a walk, ahead of our clock: the API's clock may run ahead of ours.
LOOKAHEAD = timedelta(days=2)
SYNC_LOCK = "topups:ledger-sync"
# Faults a walk reads the page again after: the answer did not come, or said "later".
RESUMABLE = (api_errors.TransportError, api_errors.RateLimited, api_errors.ServerError, api_errors.BadResponse)
# The longest pause between two reads of a page that failed (the pause doubles while faults follow).
RESUME_PAUSE_MAX = 15.0


@dataclass
class LedgerSyncReport:
    pages: int = 0
    api_calls: int = 0
    received: int = 0
    unreadable: int = 0
    complete: bool = False
    skipped: bool = False
    # Passing faults met and read past (the page read again), and the error that ended the run.
    faults: int = 0
    errors: list[str] = field(default_factory=list)
    # How far an incomplete walk got: the page it resumes at, in its window.
    page: int = 0
    window: tuple[datetime, datetime] | None = None
    stopped: str = ""  # "faults" (budget spent), "error" (not a passing fault), "time", "pages" or ""

    def progress(self) -> str:
        """How far the run got, for the command and the logs."""
        if self.skipped:
            return "another sync is running"
        text = "complete" if self.complete else "incomplete"
        if self.faults:
            text += f"; {self.faults} passing fault(s) met, the page read again each time"
        if not self.complete and self.window:
            text += (f"; stopped at page {self.page} of the walk from {self.window[0].isoformat()} to "
                     f"{self.window[1].isoformat()} ({STOP_REASONS.get(self.stopped, self.stopped)}), "
                     "the next run resumes there")
        return text


STOP_REASONS = {"faults": "fault budget spent (LEDGER_SYNC_FAULT_BUDGET)", "error": "an error that is not passing",
                "time": "the run's time spent", "pages": "the run's pages spent"}


def cursor() -> LedgerCursor:
    return LedgerCursor.objects.get_or_create(name="ledger")[0]


def sync_ledger(*, backfill_days: int | None = None, max_pages: int | None = None, max_seconds: float | None = None,
                now: datetime | None = None) -> LedgerSyncReport:
    """Pull the ledger rows we do not have yet. Safe to run twice or from two workers: one walks,
    the other returns (``skipped``); even without the lock nothing is stored twice. A failure
    ends the run with what was stored kept and the walk resumable; it is reported, not raised.
    ``max_pages`` / ``max_seconds`` end a run early (a task inside its timeout): the next resumes."""
    report = LedgerSyncReport()
    token = timezone.now().isoformat()
    lock_seconds = int(max_seconds or settings.Q_CLUSTER["timeout"]) + 10
    if not cache.add(SYNC_LOCK, token, timeout=lock_seconds):
        report.skipped = True
        return report
    deadline = time.monotonic() + max_seconds if max_seconds is not None else None
    now = now or timezone.now()
    try:
        resumed = _walk(report, backfill_days=backfill_days, max_pages=max_pages, deadline=deadline, now=now)
        if resumed and report.complete:
            # A walk resumed from an earlier run saw the ledger as it was when it started: rows
            # written since then sit before the page it resumed at. A fresh walk reads them.
            report.complete = False
            _walk(report, backfill_days=backfill_days, max_pages=max_pages, deadline=deadline, now=now)
    finally:
        if cache.get(SYNC_LOCK) == token:
            cache.delete(SYNC_LOCK)
    return report


def _walk(report: LedgerSyncReport, *, backfill_days: int | None, max_pages: int | None, deadline: float | None,
          now: datetime) -> bool:
    """Walk on (or start a walk); True when the walk was started by an earlier run."""
    state = cursor()
    resumed = state.walk_from is not None
    if not resumed:
        if state.last_time is None:
            days = settings.LEDGER_BACKFILL_DAYS if backfill_days is None else backfill_days
            start = now - timedelta(days=days)
            state.covered_from = start
        else:
            start = state.last_time - timedelta(seconds=settings.LEDGER_SYNC_OVERLAP_SECONDS)
        state.walk_from, state.walk_to, state.walk_page, state.walk_newest = start, now + LOOKAHEAD, 1, None
        state.save(update_fields=["covered_from", "walk_from", "walk_to", "walk_page", "walk_newest"])
    client = get_client()
    page, newest = state.walk_page, state.walk_newest
    report.page, report.window, failing = page, (state.walk_from, state.walk_to), 0
    while True:
        if max_pages is not None and report.pages >= max_pages:
            report.stopped = "pages"
            return resumed
        if deadline is not None and time.monotonic() >= deadline:
            report.stopped = "time"
            return resumed
        try:
            report.api_calls += 1
            result = client.transactions(page=page, page_size=PAGE_SIZE, from_=state.walk_from, to=state.walk_to)
        except api_errors.OneClickError as exc:
            LedgerCursor.objects.filter(pk=state.pk).update(last_error=str(exc)[:255])
            failing += 1
            if _may_read_again(report, exc, failing, deadline):
                continue
            report.errors.append(str(exc))
            return resumed
        failing = 0
        report.pages += 1
        # Oldest first, so ids follow the ledger's order within a page.
        rows = [_row(t, now) for t in reversed(result.items)] + [_unreadable_row(raw, now) for raw in result.unreadable]
        report.received += len(result.items)
        report.unreadable += len(result.unreadable)
        if rows:
            LedgerRow.objects.bulk_create(rows, ignore_conflicts=True)
            page_newest = max(r.time for r in rows if r.raw is None) if result.items else None
            if page_newest is not None and (newest is None or page_newest > newest):
                newest = page_newest
        done = not result.items and not result.unreadable or not result.has_next
        if done:
            # The ledger is known complete up to the moment this walk started (not now: a row
            # written meanwhile may sit before the pages read).
            last_time = max(filter(None, [state.last_time, newest]), default=None)
            LedgerCursor.objects.filter(pk=state.pk).update(
                last_time=last_time, walk_from=None, walk_to=None, walk_page=0, walk_newest=None,
                synced_at=state.walk_to - LOOKAHEAD, last_error="")
            report.complete, report.stopped = True, ""
            return resumed
        page += 1
        report.page = page
        LedgerCursor.objects.filter(pk=state.pk).update(walk_page=page, walk_newest=newest)


def _may_read_again(report: LedgerSyncReport, exc: Exception, failing: int, deadline: float | None) -> bool:
    """After a failed read: pause, then read the same page again, if the fault is a passing one and
    the run's budget allows (``LEDGER_SYNC_FAULT_BUDGET`` failed calls, and the run's deadline).
    The pause is ``LEDGER_SYNC_RESUME_SECONDS``, doubled while faults follow, or the API's
    ``retryAfter`` when it says one, at most RESUME_PAUSE_MAX. Sets ``report.stopped`` when not."""
    if not isinstance(exc, RESUMABLE):
        report.stopped = "error"
        return False
    if report.faults >= settings.LEDGER_SYNC_FAULT_BUDGET:
        report.stopped = "faults"
        return False
    pause = settings.LEDGER_SYNC_RESUME_SECONDS * 2 ** (failing - 1)
    retry_after = getattr(exc, "details", {}).get("retryAfter")
    if isinstance(retry_after, int | float) and retry_after > 0:
        pause = max(pause, float(retry_after))
    pause = min(pause, RESUME_PAUSE_MAX)
    if deadline is not None and time.monotonic() + pause >= deadline:
        report.stopped = "time"
        return False
    report.faults += 1
    time.sleep(pause)
    return True


def _row(t: Transaction, now: datetime) -> LedgerRow:
    return LedgerRow(
        api_id=t.id[:64], type=t.type.strip().upper()[:32], operation=t.operation[:32], amount=t.amount,
        old_balance=t.old_balance, new_balance=t.new_balance, objid=t.objid[:64], note=t.note[:255],
        time=t.time or now, fetched_at=now,
    )


def _unreadable_row(raw, now: datetime) -> LedgerRow:
    """A row the client could not read (no id, amount not a number...): kept as received, under
    an id made from its content (the same row read again is the same id), and flagged."""
    text = json.dumps(raw, sort_keys=True, default=str)
    item = raw if isinstance(raw, dict) else {}
    ident = str(item.get("_id") or item.get("id") or "")
    api_id = ident[:64] if ident else "raw:" + hashlib.sha256(text.encode()).hexdigest()[:56]

    def decimal_or_none(name):
        try:
            return to_decimal(item.get(name), name)
        except api_errors.BadResponse:
            return None

    return LedgerRow(
        api_id=api_id, type=str(item.get("type") or "")[:32].upper(), operation=str(item.get("operation") or "")[:32],
        amount=decimal_or_none("amount"), old_balance=decimal_or_none("oldBalance"),
        new_balance=decimal_or_none("newBalance"), objid=str(item.get("objid") or "")[:64],
        note=str(item.get("note") or "")[:255], time=to_datetime(item.get("time")) or now, raw=raw, fetched_at=now,
    )
