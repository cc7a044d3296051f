"""The provider's ledger: the simulator keeps it consistent with its orders and balance, and the
ledger sync copies it into LedgerRow over HTTP, incrementally, resumably and without losing or
doubling a row whatever the API does (shapes, strings, unknown types, pages moving, outages)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.core.cache import cache
from django.utils import timezone

from topups.models import LedgerCursor, LedgerFlag, LedgerRow, LedgerState, Order
from topups.oneclick import OneClickClient
from topups.services import ledger, reconcile

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.ledger_fixtures"]


def api_client(simulator_server) -> OneClickClient:
    return OneClickClient(simulator_server.url, "test-key-0000", get_retries=0)


def stored_ids() -> set[str]:
    return set(LedgerRow.objects.values_list("api_id", flat=True))


def sim_ids(sim) -> set[str]:
    return {row["_id"] for row in sim.ledger()}


# The simulator's ledger ------------------------------------------------------------------------------


def test_simulator_ledger_explains_the_balance(sell, books, staff):
    opening = books.balance
    books.set_balance(opening + 5000)
    sell(staff, "036362600")
    sell(staff, "036362690")  # refunded
    books.add_ledger_row(type="POINT-EXCHANGE", amount=12)
    rows = books.ledger()
    assert [r["type"] for r in rows] == ["DEPOSIT", "ADSL", "ADSL", "REFUND-ADSL", "POINT-EXCHANGE"]
    for before, row in zip(rows, rows[1:], strict=False):
        assert row["oldBalance"] == before["newBalance"]
    assert rows[0]["oldBalance"] == opening and rows[-1]["newBalance"] == books.balance
    refunded = Order.objects.get(number="036362690")
    assert rows[3]["objid"] == refunded.topup_id and rows[3]["amount"] == refunded.cost


def test_transactions_paging_and_window_as_documented(books, staff, simulator_server):
    for index in range(5):
        books.add_ledger_row(type="DEPOSIT", amount=index + 1)
        books.advance(1)
    client = api_client(simulator_server)
    page = client.transactions(page=1, page_size=2)
    assert [t.amount for t in page.items] == [Decimal(5), Decimal(4)]  # newest first
    assert (page.total_pages, page.total_items) == (3, 5)
    rows = books.ledger()
    start, end = rows[1]["time"], rows[3]["time"]
    window = list(client.iter_transactions(from_=start, to=end))
    assert [t.amount for t in window] == [Decimal(4), Decimal(3), Decimal(2)]  # both ends inclusive
    response = requests.get(simulator_server.url + "/account/transactions", params={"from": start.isoformat()},
                            headers={"X-Access-Token": "test-key-0000"}, timeout=5)
    assert response.status_code == 400 and response.json()["error"]["code"] == "ERR_VALIDATION"


def test_knobs_over_http(sell, books, staff, simulator_server):
    control = simulator_server.control_url
    order = sell(staff, "036362600")
    hidden = requests.post(control + "/ledger/hide", json={"ref": order.ref, "type": "ADSL"}, timeout=5).json()
    assert len(hidden["data"]["hidden"]) == 1  # the order's one ADSL row (by its row id)
    assert order.topup_id not in {t.objid for t in api_client(simulator_server).iter_transactions()}
    elsewhere = requests.post(control + "/ledger/elsewhere", json={"value": 500}, timeout=5).json()["data"]
    assert elsewhere["cost"] == 490
    refund = requests.post(control + "/ledger/refund", json={"ref": elsewhere["ref"]}, timeout=5).json()["data"]
    assert refund["status"] == "REFUNDED"
    row = requests.post(control + "/ledger/rows", json={"type": "CASHBACK", "amount": 3}, timeout=5).json()["data"]
    assert row["type"] == "CASHBACK" and "objid" not in row
    assert requests.post(control + "/ledger/charge", json={"ref": "x", "amount": 1}, timeout=5).ok


# The sync ------------------------------------------------------------------------------------------


def test_first_sync_backfills_then_reads_only_new_rows(sell, books, staff, django_assert_max_num_queries):
    for index in range(250):
        books.add_ledger_row(type="DEPOSIT", amount=index + 1)
    first = ledger.sync_ledger(backfill_days=3)
    assert first.complete and first.pages == 3 and first.received == 250
    assert stored_ids() == sim_ids(books)
    state = ledger.cursor()
    assert state.covered_from < timezone.now() - timedelta(days=2, hours=23)
    assert state.last_time == max(LedgerRow.objects.values_list("time", flat=True))
    again = ledger.sync_ledger()
    assert again.complete and LedgerRow.objects.count() == 250  # the overlap is read, nothing doubles
    sell(staff, "036362600")
    with django_assert_max_num_queries(40):
        third = ledger.sync_ledger()
    assert third.complete and stored_ids() == sim_ids(books)


def test_queries_per_page_are_constant(books):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(rows: int) -> int:
        LedgerRow.objects.all().delete()
        LedgerCursor.objects.all().delete()
        books.reset()
        for index in range(rows):
            books.add_ledger_row(type="DEPOSIT", amount=index + 1)
        with CaptureQueriesContext(connection) as context:
            assert ledger.sync_ledger(backfill_days=1).complete
        assert LedgerRow.objects.count() == rows
        return len(context)

    two, three, six = queries_for(200), queries_for(300), queries_for(600)
    per_page = three - two
    assert per_page <= 6  # the INSERT (split in batches on SQLite), the cursor, the client's key guard
    assert six - two == 4 * per_page


def test_a_walk_cut_short_resumes_at_its_page(books, settings):
    settings.LEDGER_SYNC_FAULT_BUDGET = 0  # a run ends at its first fault (tests/ledger/test_faults.py: it need not)
    for index in range(250):
        books.add_ledger_row(type="DEPOSIT", amount=index + 1)
    books.inject_fault("transactions", "error_500_before", count=1)
    first = ledger.sync_ledger(backfill_days=1, max_pages=1)
    assert not first.complete and first.errors and LedgerRow.objects.count() == 0
    second = ledger.sync_ledger(max_pages=1)
    assert not second.complete and LedgerRow.objects.count() == 100
    assert ledger.cursor().walk_page == 2
    books.inject_fault("transactions", "unavailable", count=1)
    third = ledger.sync_ledger()
    state = ledger.cursor()
    assert third.errors and not third.complete and "unavailable" in state.last_error.lower()
    assert state.walk_page == 2 and LedgerRow.objects.count() == 100  # the walk waits at its page, nothing lost
    fourth = ledger.sync_ledger()
    # Pages 2 and 3 of the walk, then a fresh walk (3 pages of the overlap) for rows written since.
    assert fourth.complete and fourth.pages == 2 + 3 and stored_ids() == sim_ids(books)
    assert not LedgerFlag.objects.exists()


def test_rows_arriving_while_pages_are_walked_are_neither_lost_nor_doubled(books, staff, monkeypatch):
    for index in range(230):
        books.add_ledger_row(type="DEPOSIT", amount=index + 1)
    real = OneClickClient.transactions

    def transactions_while_selling(self, **kwargs):
        page = real(self, **kwargs)
        for extra in range(7):  # newer rows push older ones onto the next page
            books.add_ledger_row(type="DEPOSIT", amount=1000 + extra)
        return page

    monkeypatch.setattr(OneClickClient, "transactions", transactions_while_selling)
    report = ledger.sync_ledger(backfill_days=1)
    assert report.complete
    seen_then = stored_ids()
    monkeypatch.undo()
    assert ledger.sync_ledger().complete
    assert stored_ids() == sim_ids(books) and seen_then <= stored_ids()
    assert LedgerRow.objects.count() == len(books.ledger())


def test_two_syncs_at_once_store_each_row_once(books):
    for index in range(150):
        books.add_ledger_row(type="DEPOSIT", amount=index + 1)
    cache.add(ledger.SYNC_LOCK, "another worker", timeout=60)
    assert ledger.sync_ledger(backfill_days=1).skipped
    cache.delete(ledger.SYNC_LOCK)
    # Even without the lock (it expired mid-walk), a second walk of the same rows adds nothing.
    ledger.sync_ledger(backfill_days=1)
    LedgerCursor.objects.update(walk_from=None, last_time=None)
    ledger.sync_ledger(backfill_days=1)
    assert LedgerRow.objects.count() == 150 and stored_ids() == sim_ids(books)


@pytest.mark.parametrize("shape", ["items", "topups"])
def test_both_list_shapes_and_amounts_as_strings(sell, books, staff, shape):
    books.configure(ledger_shape=shape, ledger_amounts_as_strings=True)
    sell(staff, "036362600", 500)
    books.add_ledger_row(type="DEPOSIT", amount="1326.13")
    for _index in range(120):
        books.add_ledger_row(type="SEND", amount=1)
    report = ledger.sync_ledger(backfill_days=1)
    assert report.complete and report.pages == 2 and stored_ids() == sim_ids(books)
    deposit = LedgerRow.objects.get(type="DEPOSIT")
    assert deposit.amount == Decimal("1326.13") and deposit.new_balance - deposit.old_balance == Decimal("1326.13")
    assert LedgerRow.objects.get(type="ADSL").amount == Decimal(490)


def test_unknown_types_and_missing_objid_are_recorded_without_flags(sell, books, staff):
    sell(staff, "036362600")
    books.add_ledger_row(type="CASHBACK", amount=7)  # not in the docs' list
    books.add_ledger_row(type="SERVICE", amount=15)  # no objid at all
    result = reconcile.run(backfill_days=1)
    states = dict(LedgerRow.objects.values_list("type", "state"))
    assert states == {"ADSL": LedgerState.MATCHED, "CASHBACK": LedgerState.RECORDED, "SERVICE": LedgerState.RECORDED}
    assert LedgerRow.objects.get(type="SERVICE").objid == ""
    assert result.open_flags == 0


def test_a_gift_card_debit_of_no_order_of_ours_is_flagged(sell, books, staff):
    """Gift cards are a line of ours: an ORDER debit no order of ours explains is a debit with no order."""
    sell(staff, "036362600")
    books.add_ledger_row(type="ORDER", amount=100, objid="6901616fe9e88196b4eb64b2")
    result = reconcile.run(backfill_days=1)
    assert LedgerRow.objects.get(type="ORDER").state == LedgerState.FLAGGED and result.open_flags == 1


def test_an_unreachable_ledger_loses_nothing_and_flags_nothing(sell, books, staff, settings):
    settings.LEDGER_SYNC_FAULT_BUDGET = 0  # a run ends at its first fault
    sell(staff, "036362600")
    books.inject_fault("transactions", "reset", count=2)
    for _attempt in range(2):
        first = reconcile.run(backfill_days=1)
        assert first.sync.errors and not first.sync.complete and first.open_flags == 0
    assert not LedgerRow.objects.exists()
    # The order has no debit row yet, but the ledger was not read: not flagged as missing.
    second = reconcile.run()
    assert second.sync.complete and second.open_flags == 0
    assert LedgerRow.objects.get(type="ADSL").state == LedgerState.MATCHED


def test_a_row_the_client_cannot_read_is_kept_and_flagged(books, simulator_server):
    row = books.add_ledger_row(type="DEPOSIT", amount=10)
    books.add_ledger_row(type="DEPOSIT", amount=20)
    requests.post(simulator_server.control_url + "/ledger/spoil",
                  json={"row_id": row["_id"], "fields": {"amount": "N/A"}}, timeout=5).raise_for_status()
    report = reconcile.run(backfill_days=1)
    assert report.sync.unreadable == 1 and report.sync.complete
    kept = LedgerRow.objects.get(api_id=row["_id"])
    assert kept.raw["amount"] == "N/A" and kept.state == LedgerState.FLAGGED and kept.amount is None
    assert kept.new_balance == row["newBalance"]  # what could be read was kept
    assert list(LedgerFlag.objects.values_list("kind", flat=True)) == ["unreadable"]  # no chain noise
    reconcile.run()
    assert LedgerRow.objects.count() == 2 and LedgerFlag.objects.count() == 1


def test_rows_written_while_a_walk_waits_to_resume_are_read_in_the_same_run(books, sell, staff):
    """A walk cut short resumes in its old window: rows written since then sit before the page it
    resumes at. The run that completes it walks again, and the sync is only trusted up to the
    moment its walk started, so no order is flagged as having no debit meanwhile."""
    for index in range(250):
        books.add_ledger_row(type="DEPOSIT", amount=index + 1)
    assert not ledger.sync_ledger(backfill_days=1, max_pages=1).complete
    order = sell(staff, "036362600")
    result = reconcile.run()
    assert result.sync.complete and stored_ids() == sim_ids(books)
    assert LedgerRow.objects.get(objid=order.topup_id).state == LedgerState.MATCHED
    assert result.open_flags == 0
