"""The ledger walk under faults: with 30 % of the API's answers failing (5xx, 429, connection
resets; the simulator's fault mix on the ledger endpoint, over HTTP), one run of ``manage.py
reconcile`` and one scheduled run read the whole ledger, each failed page read again; a run whose
fault budget is spent says how far it got, and the next run resumes there; an error that is not a
passing one (a refused key) is not read again."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from topups import tasks
from topups.models import LedgerFlag, LedgerRow
from topups.services import ledger

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.ledger_fixtures"]

THIRTY_PERCENT = {"error_500_before": 0.1, "rate_limit": 0.1, "reset": 0.1}


def stored_ids() -> set[str]:
    return set(LedgerRow.objects.values_list("api_id", flat=True))


def sim_ids(sim) -> set[str]:
    return {row["_id"] for row in sim.ledger()}


@pytest.fixture
def long_ledger(books):
    """Six pages of ledger rows."""
    for index in range(550):
        books.add_ledger_row(type="DEPOSIT", amount=index + 1)
    return books


def reconcile_command(*args) -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("reconcile", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_reconcile_run_reads_the_whole_ledger_through_30_percent_faults(long_ledger, seed):
    long_ledger.set_fault_mix("transactions", THIRTY_PERCENT, seed=seed)
    code, output = reconcile_command("--backfill-days", "1")
    fired = sum(long_ledger.stats()["faults_fired"].values())
    assert code == 0, output
    assert fired > 0 and f"{fired} passing fault(s) met" in output and "complete" in output and "incomplete" not in output
    assert stored_ids() == sim_ids(long_ledger) and not LedgerFlag.objects.exists()


def test_the_scheduled_run_does_not_leave_the_day_unreconciled(long_ledger, settings):
    long_ledger.set_fault_mix("transactions", THIRTY_PERCENT, seed=4)
    settings.LEDGER_BACKFILL_DAYS = 1
    result = tasks.reconcile_ledger()
    assert result["complete"] and result["faults"] > 0 and not result["errors"], result
    assert stored_ids() == sim_ids(long_ledger) and result["open_flags"] == 0


def test_a_spent_budget_says_how_far_it_got_and_the_next_run_resumes_there(long_ledger, settings):
    settings.LEDGER_SYNC_FAULT_BUDGET = 2
    assert ledger.sync_ledger(backfill_days=1, max_pages=2).pages == 2
    long_ledger.inject_fault("transactions", "unavailable", count=3)
    code, output = reconcile_command()
    assert code == 2 and "2 passing fault(s) met" in output and "stopped at page 3 of the walk" in output
    assert "fault budget spent" in output and LedgerRow.objects.count() == 200
    code, output = reconcile_command()
    assert code == 0 and "complete" in output and "incomplete" not in output and stored_ids() == sim_ids(long_ledger)


def test_a_refused_key_is_not_read_again(long_ledger, settings):
    settings.ONECLICKDZ_API_KEY = "not-a-key-of-the-simulator"
    report = ledger.sync_ledger(backfill_days=1)
    assert not report.complete and report.errors and report.faults == 0 and report.stopped == "error"
    assert long_ledger.stats()["calls"].get("transactions", 0) <= 1
