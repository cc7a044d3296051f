"""Two workers reconciling at once: every ledger row stored once, every row judged, every flag
written once. Runs on the configured database: SQLite in `make test`, PostgreSQL in the second
pass (row locks with SKIP LOCKED share the chunks out)."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.db import connection

from topups.lines.internet import catalog
from topups.models import LedgerFlag, LedgerRow, LedgerState
from topups.services import ledger, reconcile

pytestmark = pytest.mark.django_db(transaction=True)


def in_threads(count: int, work) -> list[BaseException]:
    failures: list[BaseException] = []
    start = threading.Barrier(count)

    def run() -> None:
        try:
            start.wait()
            work()
        except BaseException as exc:  # surfaced by the caller
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return failures


def test_two_workers_sync_and_match_the_same_ledger(sim, settings, monkeypatch):
    settings.LEDGER_GRACE_SECONDS = 0
    cache.delete(ledger.SYNC_LOCK)
    cache.delete(reconcile.CHAIN_LOCK)
    assert catalog.sync_catalog().ok
    for index in range(3200):
        sim.add_ledger_row(type="DEPOSIT", amount=index % 50 + 1)
    foreign = [sim.place_elsewhere(value=500, number=f"0360000{index:02d}") for index in range(15)]
    # Both walk (as if the lock had expired): rows are still stored once.
    monkeypatch.setattr(ledger.cache, "add", lambda *args, **kwargs: True)
    assert in_threads(2, lambda: ledger.sync_ledger(backfill_days=1)) == []
    assert LedgerRow.objects.count() == len(sim.ledger())
    monkeypatch.undo()
    assert in_threads(2, reconcile.match_ledger) == []
    assert not LedgerRow.objects.filter(state=LedgerState.PENDING).exists()
    kinds = list(LedgerFlag.objects.values_list("kind", flat=True))
    assert sorted(kinds) == ["debit_without_order"] * len(foreign)
    assert set(LedgerRow.objects.values_list("chain_checked", flat=True)) == {True}
