"""Matching the ledger to our orders, through the simulator over HTTP: a clean day matches 100 %,
and each kind of difference is flagged (once), never fixed silently."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from topups.models import AuditEvent, FlagKind, LedgerFlag, LedgerRow, LedgerState, Order, OrderStatus
from topups.selectors import ledger as ledger_reads
from topups.services import reconcile, sync
from topups.services.actors import SYNC, Actor

S = OrderStatus
pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.ledger_fixtures"]


def open_kinds() -> list[str]:
    return sorted(LedgerFlag.objects.filter(resolved_at__isnull=True).values_list("kind", flat=True))


def test_a_clean_day_matches_every_debit_and_refund(sell, books, staff):
    books.set_balance(books.balance + 20000)
    books.configure(queue_for=0)
    for number, value in [("036362600", 1000), ("036362601", 500), ("036362690", 2000), ("036362692", 3000)]:
        sell(staff, number, value)
    sell(staff, "213472731600", 1500, "4G")
    sync.refresh_orders(list(Order.objects.all()), actor=SYNC)
    assert set(Order.objects.values_list("status", flat=True)) == {S.FULFILLED, S.REFUNDED}
    result = reconcile.run(backfill_days=1)
    assert result.open_flags == 0 and result.match.flags == 0
    states = list(LedgerRow.objects.exclude(type="DEPOSIT").values_list("state", flat=True))
    assert len(states) == 7 and set(states) == {LedgerState.MATCHED}
    assert LedgerRow.objects.get(type="DEPOSIT").state == LedgerState.RECORDED
    for order in Order.objects.all():
        expected = {"ADSL", "REFUND-ADSL"} if order.status == S.REFUNDED else {"ADSL"}
        assert set(order.ledger_rows.values_list("type", flat=True)) == expected
    day = ledger_reads.day_summary(timezone.localdate())
    assert day.difference == 0 and day.closing == books.balance and day.open_flags == 0
    assert day.our_debits == Decimal(980 + 490 + 1960 + 2940 + 1470) and day.our_refunds == Decimal(1960 + 2940)
    # A second run changes nothing.
    again = reconcile.run()
    assert again.match.rows == 0 and again.open_flags == 0


def test_debit_with_no_order(sell, books, staff):
    sell(staff, "036362600")
    foreign = books.place_elsewhere(value=2000, number="036000011")
    result = reconcile.run(backfill_days=1)
    assert open_kinds() == [FlagKind.DEBIT_WITHOUT_ORDER]
    flag = LedgerFlag.objects.get()
    assert flag.row.objid == foreign["_id"] and flag.found == Decimal(1960) and flag.order is None
    assert result.match.matched == 1


def test_a_young_debit_waits_for_the_grace_period(books, staff, settings):
    settings.LEDGER_GRACE_SECONDS = 600
    books.place_elsewhere()
    reconcile.run(backfill_days=1)
    assert not LedgerFlag.objects.exists() and LedgerRow.objects.get().state == LedgerState.PENDING
    reconcile.match_ledger(now=timezone.now() + timedelta(minutes=11))
    assert open_kinds() == [FlagKind.DEBIT_WITHOUT_ORDER]


def test_a_debit_made_before_we_learnt_the_topup_id_is_matched_later(sell, books, staff, settings):
    settings.LEDGER_GRACE_SECONDS = 600
    order = sell(staff, "036362600")
    topup_id = order.topup_id
    Order.objects.filter(pk=order.pk).update(topup_id="")  # the send's answer is not in yet
    reconcile.run(backfill_days=1)
    assert LedgerRow.objects.get().state == LedgerState.PENDING
    Order.objects.filter(pk=order.pk).update(topup_id=topup_id)
    reconcile.run()
    assert LedgerRow.objects.get().state == LedgerState.MATCHED and not LedgerFlag.objects.exists()


def test_order_accepted_with_no_debit_and_the_missing_row_breaks_the_chain(sell, books, staff):
    sell(staff, "036362600")
    order = sell(staff, "036362601")
    sell(staff, "036362602")
    books.hide_ledger_rows(ref=order.ref)
    reconcile.run(backfill_days=1)
    assert open_kinds() == [FlagKind.BALANCE_BREAK, FlagKind.DEBIT_MISSING]
    missing = LedgerFlag.objects.get(kind=FlagKind.DEBIT_MISSING)
    assert missing.order == order and missing.expected == order.cost
    broken = LedgerFlag.objects.get(kind=FlagKind.BALANCE_BREAK)
    assert broken.found - broken.expected == -order.cost  # the hidden debit's amount
    reconcile.run()
    assert LedgerFlag.objects.count() == 2  # flagged once


def test_no_debit_is_not_flagged_inside_the_grace_period_or_before_the_ledger_was_read(sell, books, staff, settings):
    settings.LEDGER_GRACE_SECONDS = 600
    order = sell(staff, "036362601")
    books.hide_ledger_rows(ref=order.ref)
    reconcile.run(backfill_days=1)
    assert not LedgerFlag.objects.exists()
    reconcile.match_ledger(now=timezone.now() + timedelta(minutes=11))
    assert not LedgerFlag.objects.exists()  # the last complete sync is too recent to judge
    reconcile.run(now=timezone.now() + timedelta(minutes=11))
    assert open_kinds() == [FlagKind.DEBIT_MISSING]


def test_amount_different_from_the_orders_cost(books, staff):
    from topups.services import orders

    order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000), actor=staff)
    books.charge_differently(order.ref, "1010")
    from topups.services import sending

    sending.send_order(order_id=order.pk, actor=staff)
    reconcile.run(backfill_days=1)
    flag = LedgerFlag.objects.get()
    assert (flag.kind, flag.expected, flag.found, flag.order_id) == (FlagKind.AMOUNT_DIFFERS, Decimal(980),
                                                                      Decimal(1010), order.pk)
    assert Order.objects.get(pk=order.pk).cost == Decimal(980)  # not "fixed"


def test_refund_we_were_never_told_about(sell, books, staff):
    order = sell(staff, "036362600")
    assert order.status == S.FULFILLED
    books.refund_topup(order.ref)
    reconcile.run(backfill_days=1)
    flag = LedgerFlag.objects.get()
    assert flag.kind == FlagKind.REFUND_NOT_LOCAL and flag.order == order and "not refunded" in flag.detail
    assert Order.objects.get(pk=order.pk).status == S.FULFILLED  # a final order is never moved


def test_refund_of_a_tracked_order_moves_it_only_after_a_status_check(sell, books, staff, settings):
    settings.LEDGER_GRACE_SECONDS = 600
    books.configure(fulfil_after=3600)
    order = sell(staff, "036362600")
    assert order.status == S.HANDLING
    books.refund_topup(order.ref)
    result = reconcile.run(backfill_days=1)
    assert result.match.refreshes == 1 and not LedgerFlag.objects.exists()
    after_match = Order.objects.get(pk=order.pk)
    assert after_match.status == S.HANDLING and after_match.next_check_at <= timezone.now()
    assert LedgerRow.objects.get(type="REFUND-ADSL").state == LedgerState.PENDING
    sync.sync_due_orders()  # the status check confirms it
    assert Order.objects.get(pk=order.pk).status == S.REFUNDED
    reconcile.run()
    assert LedgerRow.objects.get(type="REFUND-ADSL").state == LedgerState.MATCHED
    assert not LedgerFlag.objects.exists()


def test_refund_still_not_confirmed_after_the_grace_period_is_flagged(sell, books, staff):
    books.configure(fulfil_after=3600)
    order = sell(staff, "036362600")
    books.refund_topup(order.ref)
    books.inject_fault("check-id", "error_500_before", count=3)
    reconcile.run(backfill_days=1)
    assert open_kinds() == [FlagKind.REFUND_NOT_LOCAL]
    assert Order.objects.get(pk=order.pk).status == S.HANDLING


def test_resolving_a_flag_needs_a_note_and_is_audited(books, staff, supervisor):
    books.place_elsewhere()
    reconcile.run(backfill_days=1)
    flag = LedgerFlag.objects.get()
    with pytest.raises(ValueError):
        reconcile.resolve_flag(flag_id=flag.pk, note="  ", actor=Actor.user(supervisor))
    done = reconcile.resolve_flag(flag_id=flag.pk, note="sent from the old till", actor=Actor.user(supervisor))
    assert done.resolved_by == supervisor and done.resolution == "sent from the old till"
    audit = AuditEvent.objects.get(action="resolve_ledger_flag")
    assert audit.target == flag.key and audit.detail["note"] == "sent from the old till"
    assert reconcile.resolve_flag(flag_id=flag.pk, note="again", actor=Actor.user(supervisor)) is None
    assert reconcile.open_flags() == 0


def test_matching_queries_do_not_grow_with_rows(sell, books, staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for index in range(30):
        sell(staff, f"0363626{index:02d}", 500)
    reconcile.run(backfill_days=1)
    LedgerRow.objects.update(state=LedgerState.PENDING, chain_checked=False, order=None)
    with CaptureQueriesContext(connection) as small:
        reconcile.match_ledger()
    for index in range(30, 80):
        sell(staff, f"0363626{index:02d}", 500)
    reconcile.run()
    LedgerRow.objects.update(state=LedgerState.PENDING, chain_checked=False, order=None)
    with CaptureQueriesContext(connection) as large:
        reconcile.match_ledger()
    assert LedgerRow.objects.filter(state=LedgerState.MATCHED).count() == 80
    assert len(large) == len(small)


def test_command_prints_a_summary_and_exits_non_zero_while_flags_are_open(sell, books, staff, capsys):
    sell(staff, "036362600")
    call_command("reconcile", "--backfill-days", "1")
    out = capsys.readouterr().out
    assert "open flags: 0" in out and "ADSL" in out
    books.place_elsewhere()
    with pytest.raises(SystemExit) as exit_info:
        call_command("reconcile", "--date", timezone.localdate().isoformat())
    assert exit_info.value.code == 1
    assert "debit_without_order" in capsys.readouterr().out


def test_rows_of_one_millisecond_are_chained_even_when_a_balance_comes_back():
    """A debit, its refund and another debit in the same millisecond: 1000 → 20 → 1000 → 20 → 10;
    taken in the wrong order, the first debit would seem to follow the second."""
    from datetime import UTC, datetime

    moment = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def row(pk, old, new):
        return LedgerRow(pk=pk, api_id=str(pk), type="ADSL", old_balance=Decimal(old), new_balance=Decimal(new),
                         time=moment)

    rows = [row(1, 20, 10), row(2, 1000, 20), row(3, 20, 1000), row(4, 1000, 20)]
    before = row(0, 2000, 1000)
    chain = reconcile._chained(rows, before)
    assert all(r.old_balance == b.new_balance for r, b in chain)
    assert [r.pk for r, _ in chain][-1] == 1
    # Without a row before (the first rows read), the chain starts where more rows leave than arrive.
    assert all(r.old_balance == b.new_balance for r, b in reconcile._chained(rows, None)[1:])


def test_the_schedule_runs_the_sync_then_the_matching(books, sell, staff):
    from django_q.models import Schedule

    from topups import tasks
    from topups.schedules import ensure_schedules

    ensure_schedules()
    schedule = Schedule.objects.get(name="Ledger reconciliation")
    assert schedule.func == "topups.tasks.reconcile_ledger" and schedule.minutes == 10
    sell(staff, "036362600")
    books.place_elsewhere()
    result = tasks.reconcile_ledger()
    assert result["complete"] and result["rows"] == 2 and result["open_flags"] == 1
    again = tasks.reconcile_ledger()
    assert again["rows"] == 0 and again["open_flags"] == 1


def test_mobile_top_ups_are_matched_like_cards(sell, books, staff):
    from topups.lines.mobile import plans as mobile
    from topups.services import orders, sending

    books.configure(mobile_pending_for=0, mobile_unknown_for=0)
    sell(staff, "036362600", 1000)
    for plan, number, amount in [("PREPAID_DJEZZY", "0778037340", 1000), ("PREPAID_MOBILIS", "0600000002", 500),
                                 ("PREPAID_DJEZZY", "0700000004", 2000), ("GROS_MOBILIS", "0661234567", 6000),
                                 ("GETMENU_Ooredoo", "0551234567", None)]:
        order, _ = orders.create_order(service="mobile", plan_code=plan, number=number,
                                       value=None if amount is None else Decimal(amount), actor=staff)
        sending.send_order(order_id=order.pk, actor=staff)
    assert mobile.MobilePlan.objects.exists()
    sync.refresh_orders(list(Order.objects.all()), actor=SYNC)
    sync.refresh_orders(list(Order.objects.all()), actor=SYNC)  # the uncertain one, settled since
    assert set(Order.objects.values_list("status", flat=True)) == {S.FULFILLED, S.REFUNDED}
    result = reconcile.run(backfill_days=1)
    assert result.open_flags == 0 and result.match.flags == 0
    flexy = LedgerRow.objects.filter(type__in=["FLEXY", "REFUND-FLEXY"])
    assert flexy.count() == 6 and set(flexy.values_list("state", flat=True)) == {LedgerState.MATCHED}
    day = ledger_reads.day_summary(timezone.localdate())
    assert day.difference == 0 and day.closing == books.balance
