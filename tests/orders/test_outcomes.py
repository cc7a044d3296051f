"""Orders end to end through the services and the simulator over HTTP: every outcome."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.conf import settings as settings_module
from django.utils import timezone

from tests.factories import history, place, refresh
from topups.models import HANDED_BACK_STATUSES, LedgerRow, Order, OrderEvent, OrderStatus, Product
from topups.services import account, dispatch, lifecycle, orders, planning, sending, sync
from topups.services.actors import SYNC

S = OrderStatus
pytestmark = pytest.mark.django_db


def send(order, staff) -> sending.SendReport:
    return sending.send_order(order_id=order.pk, actor=staff)


def test_fulfilled_order_stores_card_code_and_history(synced, staff):
    order = place(staff)
    report = send(order, staff)
    assert report.outcome == "sent"
    order.refresh_from_db()
    assert order.status == S.HANDLING and order.topup_id and order.cost == Decimal("980")
    assert order.ncli.endswith("*****")
    synced.advance(5)
    order = refresh(order)
    assert order.status == S.FULFILLED
    assert len(order.card_code) == 12 and order.num_trans and order.processed_at is not None
    assert order.next_check_at is None
    assert history(order) == [("", S.NEW), (S.NEW, S.SENDING), (S.SENDING, S.HANDLING), (S.HANDLING, S.FULFILLED)]
    event = OrderEvent.objects.get(order=order, to_status=S.FULFILLED)
    assert event.actor_label == "task:sync"
    assert order.card_code not in str(event.payload)  # the history keeps the code masked
    assert synced.stats()["refs"][order.ref] == {"orders": 1, "attempts": 1}


def test_refunded_order(synced, staff):
    order = place(staff, number="036362690")
    send(order, staff)
    synced.advance(5)
    order = refresh(order)
    assert order.status == S.REFUNDED and order.card_code == ""
    stats = synced.stats()
    assert stats["total_debited"] == stats["total_refunded"] == Decimal("980")


def test_queued_then_fulfilled(synced, staff):
    order = place(staff, number="213665983491", line_type="4G", value=1500)
    send(order, staff)
    synced.advance(5)
    order = refresh(order)
    assert order.status == S.QUEUED
    assert "12–48 h" in OrderEvent.objects.get(order=order, to_status=S.QUEUED).note
    assert (order.next_check_at - order.last_checked_at).total_seconds() == 3600  # hourly, not every 5 s
    synced.advance(synced.config["queue_for"] + 1)
    order = refresh(order)
    assert order.status == S.FULFILLED and order.card_code


def test_queued_then_refunded(synced, staff):
    order = place(staff, number="036362692")
    send(order, staff)
    synced.advance(5)
    assert refresh(order).status == S.QUEUED
    synced.advance(synced.config["queue_for"] + 1)
    assert refresh(order).status == S.REFUNDED


def test_phone_refusal_from_number_check(synced, staff):
    order = place(staff, number="036362699")
    report = send(order, staff)
    order.refresh_from_db()
    assert report.outcome == "refused" and order.status == S.REFUSED and order.refusal_code == "ERR_PHONE"
    assert "send" not in synced.stats()["calls"]  # refused before any POST


def test_stock_refusal_from_api(synced, staff):
    synced.set_stock("ADSL", 2000, False)  # the API ran out after our catalog was cached
    order = place(staff, value=2000)
    send(order, staff)
    order.refresh_from_db()
    assert order.status == S.REFUSED and order.refusal_code == "ERR_STOCK"
    assert synced.stats()["total_debited"] == 0


def test_out_of_stock_in_cached_catalog_is_refused_without_calling(synced, staff):
    order = place(staff, value=5000)  # listed unavailable by the simulator's catalog
    assert Product.objects.get(line_type="ADSL", value=5000).available is False
    send(order, staff)
    order.refresh_from_db()
    assert order.status == S.REFUSED and order.refusal_code == "ERR_STOCK"
    assert synced.stats()["calls"].get("send", 0) == 0


def test_insufficient_balance(synced, staff):
    synced.set_balance(100)
    order = place(staff)
    send(order, staff)
    order.refresh_from_db()
    assert order.status == S.REFUSED and order.refusal_code == "INSUFFICIENT_BALANCE"
    assert synced.stats()["balance"] == Decimal("100")


def test_unknown_value_is_refused_by_validation(synced, staff):
    order = place(staff, value=750)
    send(order, staff)
    order.refresh_from_db()
    assert order.status == S.REFUSED and order.refusal_code == "ERR_VALIDATION"


def test_transport_error_puts_the_order_back_to_wait(sim, staff, settings):
    settings.ONECLICKDZ_API_URL = "http://127.0.0.1:9/v3"  # nothing listens there
    account.reset_client()
    order = place(staff)
    report = send(order, staff)
    order.refresh_from_db()
    assert report.outcome == "retry" and order.status == S.NEW and order.send_attempts == 0
    assert order.next_check_at is not None


def test_second_send_of_the_same_order_does_nothing(synced, staff):
    order = place(staff)
    assert send(order, staff).outcome == "sent"
    again = send(order, staff)
    assert again.outcome == "not_claimed"
    assert synced.stats()["refs"][order.ref]["attempts"] == 1


def test_create_order_with_the_same_ref_is_idempotent(synced, staff):
    first, created = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000), actor=staff,
                                         ref="OC-FORM-1")
    second, created_again = orders.create_order(line_type="ADSL", number="036 36 26 00", value=Decimal(1000),
                                                actor=staff, ref="OC-FORM-1")
    assert created and not created_again and first.pk == second.pk
    with pytest.raises(orders.OrderInputError):
        orders.create_order(line_type="ADSL", number="036362611", value=Decimal(1000), actor=staff, ref="OC-FORM-1")


def test_illegal_transition_is_refused(synced, staff):
    order = place(staff)
    with pytest.raises(lifecycle.IllegalTransition):
        lifecycle.move(order, S.FULFILLED, staff)
    order.refresh_from_db()
    assert order.status == S.NEW


def test_stale_sending_is_reconciled_by_ref(synced, staff, settings):
    settings.ONECLICKDZ_SENDING_LEASE_SECONDS = 0
    order = place(staff)
    claimed = sending.claim(order.pk, staff)  # a worker claimed it, then died
    assert claimed is not None
    report = sync.sync_due_orders()
    order.refresh_from_db()
    assert report.stale_recovered == 1 and order.status == S.UNKNOWN
    assert synced.stats()["refs"].get(order.ref, {"orders": 0})["orders"] == 0


def test_sync_never_asks_about_final_orders(synced, staff):
    order = place(staff)
    send(order, staff)
    synced.advance(5)
    refresh(order)
    calls_before = dict(synced.stats()["calls"])
    Order.objects.filter(pk=order.pk).update(next_check_at=None)
    sync.sync_due_orders()
    assert synced.stats()["calls"] == calls_before


def test_sync_queries_do_not_grow_with_orders(synced, staff, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cycle_queries(count: int) -> int:
        Order.objects.all().delete()
        for index in range(count):
            order = place(staff, number=f"0363626{index % 90:02d}")
            send(order, staff)
        synced.advance(5)
        Order.objects.update(next_check_at=None)
        Order.objects.filter(status=S.HANDLING).update(next_check_at="2000-01-01T00:00:00Z")
        with CaptureQueriesContext(connection) as ctx:
            report = sync.sync_due_orders()
        assert report.changed == count
        return len(ctx.captured_queries)

    assert cycle_queries(6) == cycle_queries(40)


def test_sends_and_manual_refreshes_are_audited(synced, staff):
    from topups.models import AuditEvent

    order = place(staff)
    orders.request_send(Order.objects.filter(pk=order.pk), actor=staff)
    sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=staff)
    sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=SYNC)  # the sync is not audited
    rows = list(AuditEvent.objects.order_by("id").values_list("action", "actor_label", "target"))
    assert rows == [("send", "olga", order.ref), ("refresh", "olga", order.ref)]


# Money path: a debited order is never shown as "nothing charged" --------------------------------


NOT_CHARGED = frozenset({S.NEW, *HANDED_BACK_STATUSES})  # shown as nothing charged, or money handed back


def lose_the_answer(sim, settings) -> None:
    """The next send is accepted and debited, but its answer never arrives (read timeout)."""
    settings.ONECLICKDZ_READ_TIMEOUT = 0.5
    account.reset_client()
    sim.inject_fault("send", "timeout_after_accept", count=1, hang_seconds=2)


def resend_now(order, settings) -> Order:
    """A sync cycle once a resend is allowed: NOT_FOUND by ref, then sent again inline."""
    settings.ONECLICKDZ_RESEND_AFTER_SECONDS = 0
    refresh(order)
    return Order.objects.get(pk=order.pk)


def assert_charged_is_not_hidden(sim, order, staff, *, debited: bool) -> None:
    """The API's books for this order are as the scenario says (``debited``), and a debited order
    is not shown as not charged, now or after a supervisor later (past the quiet delay) tries to
    cancel it or close it as never sent."""
    debit = sim.net_debits().get(order.ref, Decimal(0))
    assert (debit > 0) == debited, f"{order.ref}: the API debited {debit}"
    Order.objects.filter(pk=order.pk).update(sent_at=timezone.now() - planning.LOOKUP_LAG * 3)
    orders.cancel_orders(Order.objects.filter(pk=order.pk), actor=staff)
    orders.close_never_sent([Order.objects.get(pk=order.pk)], actor=staff)
    shown = Order.objects.get(pk=order.pk).status
    if debited:
        assert shown not in NOT_CHARGED, f"{order.ref} shown {shown} but the API debited {debit}"


@pytest.mark.parametrize("fault", ["rate_limit", "reset_connect", "auth"])
def test_resend_that_meets_a_not_sent_failure_stays_checking(synced, staff, settings, fault):
    lose_the_answer(synced, settings)
    order = place(staff)
    assert send(order, staff).outcome == "unknown"
    synced.inject_fault("check-ref", "not_found", count=1)  # the read side lags behind the debit
    if fault == "rate_limit":
        synced.inject_fault("send", "rate_limit", count=1)
    elif fault == "auth":
        synced.inject_fault("send", "latency", count=1)
        settings.ONECLICKDZ_API_KEY = "a-key-the-api-refuses"
        account.reset_client()
    else:
        settings.ONECLICKDZ_API_URL = "http://127.0.0.1:9/v3"
        account.reset_client()
        # Nothing listens there: check-ref cannot answer, so stage the lagging NOT_FOUND by hand.
        lifecycle.apply_changes([planning.change_not_found(order, timezone.now())], SYNC)
    settings.ONECLICKDZ_RESEND_AFTER_SECONDS = 0
    if fault == "reset_connect":
        sending.send_order(order_id=order.pk, actor=SYNC)
    else:
        refresh(order)
    order.refresh_from_db()
    assert order.status == S.UNKNOWN, history(order)
    assert (S.SENDING, S.NEW) not in history(order)
    cancelled, _skipped = orders.cancel_orders(Order.objects.filter(pk=order.pk), actor=staff)
    assert cancelled == []
    assert_charged_is_not_hidden(synced, order, staff, debited=True)


def test_refusal_answered_to_a_resend_needs_attention_with_both_answers(synced, staff, settings):
    synced.configure(duplicate_check_last=True)  # the docs do not promise DUPLICATED_REF comes first
    lose_the_answer(synced, settings)
    order = place(staff)
    assert send(order, staff).outcome == "unknown"
    synced.inject_fault("check-ref", "not_found", count=1)
    synced.set_balance(100)  # the resend meets INSUFFICIENT_BALANCE, the first attempt was debited
    order = resend_now(order, settings)
    assert order.status == S.ATTENTION and order.refusal_code == ""
    event = OrderEvent.objects.filter(order=order, to_status=S.ATTENTION).last()
    assert event.payload["refusal"]["code"] == "INSUFFICIENT_BALANCE"
    assert event.payload["earlier"]["code"] == "OUTCOME_UNKNOWN"
    assert synced.stats()["refs"][order.ref] == {"orders": 1, "attempts": 2}
    assert_charged_is_not_hidden(synced, order, staff, debited=True)


def post_as_another_tool(server, ref: str, number: str = "036362611", value: int = 1000) -> str:
    answer = requests.post(f"{server.url}/internet/send", headers={"X-Access-Token": "test-key-0000"},
                           json={"type": "ADSL", "number": number, "value": value, "ref": ref}, timeout=5)
    assert answer.json()["success"], answer.json()
    return answer.json()["data"]["topupId"]


def send_under_a_strangers_ref(synced, staff, ref: str) -> Order:
    """Send our order (036362600, 1000 DA) under ``ref``, which a stranger's top-up already holds,
    then let the stranger's top-up be fulfilled and look again: never adopted, no code stored."""
    order = place(staff, ref=ref)
    report = send(order, staff)
    order.refresh_from_db()
    assert report.status == S.ATTENTION and order.status == S.ATTENTION
    assert order.topup_id == "" and order.card_code == ""
    synced.advance(5)  # the stranger's order is fulfilled: its card is not ours to show
    order = refresh(order)
    assert order.status == S.ATTENTION and order.card_code == ""
    return order


@pytest.mark.parametrize(("left_out", "number", "value"), [
    (("topup_amount",), "036362600", 2000),  # our line, another value: the answer does not say it
    (("number",), "036362611", 1000),  # another line: the answer does not say it
    (("type", "number", "topup_amount"), "036362611", 2000),
    (("type",), "036362600", 1000),  # nothing in the answer says it is an ADSL card
])
def test_duplicated_ref_answer_leaving_out_the_line_is_never_adopted(synced, simulator_server, staff, left_out,
                                                                     number, value):
    # A stranger's top-up under our ref, whose answer leaves out what would tell it apart from ours:
    # nothing shows it is ours, so its code is never adopted.
    post_as_another_tool(simulator_server, "OC-BARE-1", number=number, value=value)
    synced.spoil_topup("OC-BARE-1", dict.fromkeys(left_out))
    order = send_under_a_strangers_ref(synced, staff, "OC-BARE-1")
    event = OrderEvent.objects.filter(order=order, to_status=S.ATTENTION).first()
    assert {{"topup_amount": "value"}.get(name, name) for name in left_out} == set(event.payload["differences"])


def test_list_walk_never_adopts_a_strangers_order(synced, simulator_server, staff):
    synced.inject_fault("send", "error_500_before", count=sync.LIST_THRESHOLD)
    placed = [place(staff, number=f"0363626{index:02d}", ref=f"OC-LIST-{index}")
              for index in range(sync.LIST_THRESHOLD)]
    for order in placed:
        assert send(order, staff).outcome == "unknown"
    post_as_another_tool(simulator_server, "OC-LIST-0", number="036362600", value=2000)
    synced.advance(5)
    report = sync.refresh_orders(list(Order.objects.filter(pk__in=[o.pk for o in placed])), actor=SYNC)
    assert synced.stats()["calls"].get("list")  # answered by the list walk
    stranger = Order.objects.get(ref="OC-LIST-0")
    assert stranger.status == S.ATTENTION and stranger.card_code == "" and stranger.topup_id == ""
    assert report.checked == sync.LIST_THRESHOLD


def test_fulfilled_without_card_code_keeps_polling_then_is_flagged(synced, staff):
    order = place(staff)
    synced.spoil_topup(order.ref, {"card_code": None})
    send(order, staff)
    synced.advance(5)
    order = refresh(order)
    assert order.status == S.HANDLING and order.api_status == "FULFILLED" and order.card_code == ""
    assert order.next_check_at is not None
    later = timezone.now() + planning.CODE_MISSING_LIMIT + timedelta(minutes=1)
    sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=SYNC, now=later)
    order.refresh_from_db()
    assert order.status == S.ATTENTION and "card code" in history_notes(order)[-1]
    synced.spoil_topup(order.ref, None)  # the code shows up at last
    order = refresh(order)
    assert order.status == S.FULFILLED and len(order.card_code) == 12


def history_notes(order) -> list[str]:
    return list(OrderEvent.objects.filter(order=order).order_by("pk").values_list("note", flat=True))


@pytest.mark.parametrize("walk", [False, True], ids=["check-id", "list"])
def test_one_unreadable_order_does_not_stop_the_cycle(synced, staff, walk, monkeypatch):
    count = 3
    for threshold in ("LIST_THRESHOLD", "RECENT_LIST_THRESHOLD"):
        monkeypatch.setattr(sync, threshold, count if walk else count + 1)
    placed = [place(staff, number=f"0363626{index:02d}") for index in range(count)]
    for order in placed:
        send(order, staff)
    synced.spoil_topup(placed[0].ref, {"topup_amount": "N/A"})
    synced.advance(5)
    report = sync.refresh_orders([Order.objects.get(pk=o.pk) for o in placed], actor=SYNC)
    statuses = dict(Order.objects.filter(pk__in=[o.pk for o in placed]).values_list("ref", "status"))
    assert statuses.pop(placed[0].ref) == S.HANDLING
    assert set(statuses.values()) == {S.FULFILLED}, report.errors
    assert any(placed[0].ref in error or "unreadable" in error for error in report.errors)
    assert bool(synced.stats()["calls"].get("list")) == walk


def test_check_id_not_found_right_after_acceptance_is_replica_lag(synced, staff):
    order = place(staff)
    send(order, staff)
    synced.inject_fault("check-id", "not_found", count=1)
    order = refresh(order)
    assert order.status == S.HANDLING
    synced.advance(5)
    assert refresh(order).status == S.FULFILLED


def park_in_attention(sim, staff, settings, **place_kwargs) -> Order:
    """An order whose only POST failed before reaching the API, then flagged."""
    sim.inject_fault("send", "error_500_before", count=1)
    order = place(staff, **place_kwargs)
    send(order, staff)
    order.refresh_from_db()
    lifecycle.move(order, S.ATTENTION, SYNC, note="flagged")
    settings.ONECLICKDZ_RESEND_AFTER_SECONDS = 0
    Order.objects.filter(pk=order.pk).update(sent_at=timezone.now() - planning.LOOKUP_LAG * 2)
    return Order.objects.get(pk=order.pk)


def test_supervisor_closes_an_attention_order_the_api_never_had(synced, simulator_server, staff, settings):
    from topups.models import Batch
    from topups.selectors import batch_progress

    batch = Batch.objects.create(file_name="f.csv")
    never = park_in_attention(synced, staff, settings)
    held = park_in_attention(synced, staff, settings, number="036362611")
    stranger = park_in_attention(synced, staff, settings, number="036362622", ref="OC-TAKEN-1")
    Order.objects.filter(pk__in=[never.pk, held.pk, stranger.pk]).update(batch=batch)
    requests.post(f"{simulator_server.url}/internet/send", headers={"X-Access-Token": "test-key-0000"},
                  json={"type": "ADSL", "number": "036362611", "value": 1000, "ref": held.ref}, timeout=5)
    post_as_another_tool(simulator_server, "OC-TAKEN-1", number="036362633")
    closed, refused = orders.close_never_sent(list(Order.objects.filter(batch=batch)), actor=staff)
    assert [ref for ref, _proof in closed] == ["OC-TAKEN-1"] and "different order" in closed[0][1]
    why_not = dict(refused)
    assert "holds it" in why_not[held.ref]
    # Its POST had no clear answer (a 500): NOT_FOUND alone is no proof, and the ledger is not read yet.
    assert "may hold it" in why_not[never.ref] and "ledger has not been read" in why_not[never.ref]
    assert Order.objects.get(pk=never.pk).status == S.ATTENTION
    # NOT_FOUND for longer than the documented window is proof enough.
    Order.objects.filter(pk=never.pk).update(not_found_since=timezone.now() - timedelta(
        hours=settings.ONECLICKDZ_NOT_FOUND_CLOSE_HOURS, minutes=1))
    closed, _refused = orders.close_never_sent([Order.objects.get(pk=never.pk)], actor=staff)
    assert closed == [(never.ref, closed[0][1])] and "NOT_FOUND" in closed[0][1]
    assert OrderEvent.objects.get(order=never, to_status=S.CANCELLED).payload["proof"] == orders.PROOF_NOT_FOUND_WINDOW
    for order in Order.objects.filter(pk__in=[never.pk, held.pk]):  # OC-TAKEN-1's debit is the other tool's
        assert_charged_is_not_hidden(synced, order, staff, debited=order.pk == held.pk)
    synced.advance(5)
    refresh(Order.objects.get(pk=held.pk))
    assert Order.objects.get(pk=held.pk).status == S.FULFILLED
    assert batch_progress(batch).done


def read_ledger_past_the_last_attempt(ledger) -> bool:
    """The ledger read as the schedule would once the API can no longer process the last POST (its
    timeouts and the sending lease are over; a walk's end is the moment it starts)."""
    after_timeouts = timezone.now() + timedelta(seconds=max(
        settings_module.ONECLICKDZ_CONNECT_TIMEOUT + settings_module.ONECLICKDZ_READ_TIMEOUT,
        settings_module.ONECLICKDZ_SENDING_LEASE_SECONDS) + 1)
    return ledger.sync_ledger(now=after_timeouts).complete


def test_a_debited_order_whose_resends_met_duplicated_ref_is_never_closed_on_not_found(synced, staff, settings):
    """Issue 20, point 1: the first POST is accepted and debited but its answer is lost, check-ref
    lags, the resends meet DUPLICATED_REF; NOT_FOUND is no proof, nor a ledger holding its debit."""
    from topups.services import ledger

    settings.LEDGER_GRACE_SECONDS = 0
    lose_the_answer(synced, settings)
    order = place(staff)
    assert send(order, staff).outcome == "unknown"
    synced.inject_fault("check-ref", "not_found", count=50)  # the read side lags behind the debit
    settings.ONECLICKDZ_RESEND_AFTER_SECONDS = 0
    for _cycle in range(planning.MAX_SEND_ATTEMPTS):
        refresh(order)
    order = Order.objects.get(pk=order.pk)
    assert order.status == S.ATTENTION and order.send_attempts == planning.MAX_SEND_ATTEMPTS, history(order)
    assert synced.stats()["refs"][order.ref] == {"orders": 1, "attempts": 3}
    dup = OrderEvent.objects.filter(order=order, payload__duplicatedRef__code="DUPLICATED_REF")
    assert dup.exists()  # the lookup after DUPLICATED_REF failed, the evidence is kept
    Order.objects.filter(pk=order.pk).update(sent_at=timezone.now() - planning.LOOKUP_LAG * 2)
    closed, refused = orders.close_never_sent([Order.objects.get(pk=order.pk)], actor=staff)
    assert closed == [] and "DUPLICATED_REF" in refused[0][1], refused
    assert read_ledger_past_the_last_attempt(ledger)
    closed, refused = orders.close_never_sent([Order.objects.get(pk=order.pk)], actor=staff)
    assert closed == [] and "debit that may be its" in refused[0][1], refused
    assert Order.objects.get(pk=order.pk).status == S.ATTENTION
    assert synced.net_debits()[order.ref] == Decimal("980")


def test_the_ledger_read_past_the_last_attempt_proves_an_unclear_post_never_debited(synced, staff, settings):
    from django.utils import translation

    from topups.services import ledger

    settings.LEDGER_GRACE_SECONDS = 0
    sent = place(staff, number="036362655")  # another order of ours, debited in the same minutes
    send(sent, staff)
    never = park_in_attention(synced, staff, settings)
    assert read_ledger_past_the_last_attempt(ledger)
    closed, refused = orders.close_never_sent([Order.objects.get(pk=never.pk)], actor=staff)
    assert [ref for ref, _proof in closed] == [never.ref], refused
    assert "ledger" in closed[0][1]
    event = OrderEvent.objects.get(order=never, to_status=S.CANCELLED)
    assert event.payload["proof"] == orders.PROOF_LEDGER and event.payload["evidence"] == "unclear_post"
    assert event.payload["ledger"]["debits_checked"] == 1
    with translation.override("fr"):
        assert event.note_shown != event.note and "registre" in event.note_shown
    assert synced.net_debits().get(never.ref, Decimal(0)) == 0


def test_close_refuses_an_accepted_or_recent_order(synced, staff, settings):
    order = place(staff)
    send(order, staff)
    order.refresh_from_db()
    lifecycle.move(order, S.ATTENTION, SYNC, note="flagged")
    closed, refused = orders.close_never_sent([Order.objects.get(pk=order.pk)], actor=staff)
    assert closed == [] and "accepted" in refused[0][1]
    recent = park_in_attention(synced, staff, settings, number="036362644")
    Order.objects.filter(pk=recent.pk).update(sent_at=timezone.now())
    closed, refused = orders.close_never_sent([Order.objects.get(pk=recent.pk)], actor=staff)
    assert closed == [] and "too recent" in refused[0][1]
    assert "check-ref" not in synced.stats()["calls"]


def test_a_sender_outliving_its_lease_cannot_overwrite_a_later_resend(synced, staff, settings):
    settings.ONECLICKDZ_SENDING_LEASE_SECONDS = 0
    settings.ONECLICKDZ_RESEND_AFTER_SECONDS = 0
    order = place(staff)
    first, _first_send = sending.claim(order.pk, staff)  # a worker claims it, then stalls
    sync.recover_stale_sending(timezone.now())  # lease over: SENDING -> UNKNOWN
    second, _again = sending.claim(order.pk, staff)  # a resend claims it again
    assert second.send_attempts == first.send_attempts + 1
    lifecycle.move(first, S.REFUSED, staff, note="late answer of the first attempt")  # the stale writer
    order.refresh_from_db()
    assert order.status == S.SENDING and order.send_attempts == 2


def test_local_validation_failure_before_the_post_is_a_refusal(synced, staff):
    order = place(staff, value=-5)
    report = send(order, staff)
    order.refresh_from_db()
    assert report.outcome == "refused" and order.status == S.REFUSED and order.refusal_code == "ERR_VALIDATION"
    assert "send" not in synced.stats()["calls"]


def test_settings_check_refuses_a_lease_within_the_task_timeout(settings):
    from topups.checks import check_send_timings

    assert check_send_timings() == []
    settings.ONECLICKDZ_SENDING_LEASE_SECONDS = settings.Q_CLUSTER["timeout"]
    assert [e.id for e in check_send_timings()] == ["topups.E002"]
    settings.ONECLICKDZ_SENDING_LEASE_SECONDS = settings.Q_CLUSTER["timeout"] + 30
    settings.ONECLICKDZ_READ_TIMEOUT = settings.Q_CLUSTER["timeout"]  # one send could outlive the task
    assert [e.id for e in check_send_timings()] == ["topups.E003"]


def test_send_task_stops_taking_orders_before_its_timeout(synced, staff, settings, monkeypatch):
    from topups import tasks

    synced.configure(latency_ms=600)  # every call waits 0.6 s: a send (check + POST) takes over 1.2 s
    settings.ONECLICKDZ_SEND_THREADS = 1
    # Room for exactly one worst-case send, and not a second one after a real send took 1.2 s.
    worst = sending.worst_case_send_seconds()
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": worst + tasks.TASK_MARGIN_SECONDS + 1}
    handed_on = []
    monkeypatch.setattr(dispatch, "enqueue_sends", lambda ids, actor: handed_on.extend(ids))
    placed = [place(staff, number=f"0363626{index:02d}") for index in range(3)]
    reports = tasks.send_orders([o.pk for o in placed], staff.label, staff.user_id)
    assert [r["ref"] for r in reports] == [placed[0].ref]
    assert handed_on == [placed[1].pk, placed[2].pk]
    assert set(Order.objects.filter(pk__in=handed_on).values_list("status", flat=True)) == {S.NEW}


def test_admin_action_closes_what_never_reached_the_api_and_says_why_not_for_the_rest(
        synced, client, supervisor, staff, settings):
    from django.urls import reverse

    never = park_in_attention(synced, staff, settings)
    Order.objects.filter(pk=never.pk).update(not_found_since=timezone.now() - timedelta(
        hours=settings.ONECLICKDZ_NOT_FOUND_CLOSE_HOURS + 1))
    sent = place(staff, number="036362655")
    send(sent, staff)
    client.force_login(supervisor)
    response = client.post(reverse("admin:topups_order_changelist"), follow=True, data={
        "action": "close_never_sent_selected", "_selected_action": [never.pk, sent.pk]})
    shown = [m.message for m in response.context["messages"]]
    assert Order.objects.get(pk=never.pk).status == S.CANCELLED
    assert Order.objects.get(pk=sent.pk).status == S.HANDLING
    assert any("1 order closed" in text for text in shown), shown
    assert any(never.ref in text and "NOT_FOUND" in text for text in shown), shown
    assert any(sent.ref in text and "does not need attention" in text for text in shown), shown


def test_an_answer_unreadable_past_the_age_limit_needs_attention_with_the_answer_kept(synced, staff):
    """Issue 20, point 2: an unreadable answer postpones the order, but not for ever."""
    order = place(staff)
    send(order, staff)
    synced.spoil_topup(order.ref, {"topup_amount": "N/A"})
    synced.advance(5)
    order = refresh(order)
    assert order.status == S.HANDLING  # skipped this cycle, asked again later
    Order.objects.filter(pk=order.pk).update(sent_at=timezone.now() - planning.HANDLING_LIMIT - timedelta(minutes=1))
    order = refresh(order)
    assert order.status == S.ATTENTION and order.next_check_at is not None
    event = OrderEvent.objects.get(order=order, to_status=S.ATTENTION)
    assert event.payload["unreadable"]["code"] == "BAD_RESPONSE"
    assert event.payload["unreadable"]["details"]["raw"]["topup_amount"] == "N/A"  # kept for the supervisor
    assert "could not be read for 6 hours" in event.note
    assert event.payload["unreadable"]["details"]["raw"]["card_code"].startswith("••••")  # never a clear code


def test_a_supervisor_settles_an_accepted_order_that_needs_attention(synced, client, supervisor, staff, settings):
    """Issue 20, point 6: accepted, then needs attention (processing past 6 h): the close action
    refuses it, a supervisor settles it with what support said; audited, final, its batch done."""
    from django.urls import reverse

    from topups.models import AuditEvent, Batch
    from topups.selectors import batch_progress

    batch = Batch.objects.create(file_name="f.csv")
    card, refunded = place(staff, number="036362693"), place(staff, number="036362694")
    never = park_in_attention(synced, staff, settings, number="036362695")
    for order in (card, refunded):
        send(order, staff)
    Order.objects.filter(pk__in=[card.pk, refunded.pk, never.pk]).update(
        batch=batch, sent_at=timezone.now() - planning.HANDLING_LIMIT - timedelta(minutes=1))
    Order.objects.filter(pk=never.pk).update(status=S.ATTENTION)
    sync.refresh_orders(list(Order.objects.filter(pk__in=[card.pk, refunded.pk])), actor=SYNC)
    assert set(Order.objects.filter(batch=batch).values_list("status", flat=True)) == {S.ATTENTION}
    closed, refused = orders.close_never_sent([Order.objects.get(pk=card.pk)], actor=staff)
    assert closed == [] and "accepted" in refused[0][1]
    client.force_login(supervisor)
    url = reverse("admin:topups_order_settle", args=[card.pk])
    assert "Settle" in client.get(url).content.decode()
    page = client.post(url, {"outcome": "fulfilled", "card_code": "", "note": "ticket 42"}).content.decode()
    assert "Enter the card code" in page and Order.objects.get(pk=card.pk).status == S.ATTENTION
    client.post(url, {"outcome": "fulfilled", "card_code": "1234 5678 9012", "note": "ticket 42: delivered"})
    card = Order.objects.get(pk=card.pk)
    assert card.status == S.FULFILLED and card.card_code == "123456789012" and card.next_check_at is None
    event = OrderEvent.objects.get(order=card, to_status=S.FULFILLED)
    assert event.actor_id == supervisor.pk and "ticket 42: delivered" in event.note
    assert "123456789012" not in str(event.payload)
    assert AuditEvent.objects.filter(action="settle", target=card.ref, actor_id=supervisor.pk).exists()
    with pytest.raises(orders.SettleError, match="note is required"):
        orders.settle_accepted(order_id=refunded.pk, outcome="refunded", note=" ", actor=staff)
    orders.settle_accepted(order_id=refunded.pk, outcome="refunded", note="support refunded it", actor=staff)
    assert Order.objects.get(pk=refunded.pk).status == S.REFUNDED
    with pytest.raises(orders.SettleError, match="close it as never sent"):  # nothing says the API had it
        Order.objects.filter(pk=never.pk).update(status=S.ATTENTION)
        OrderEvent.objects.filter(order=never, to_status=S.UNKNOWN).delete()
        orders.settle_accepted(order_id=never.pk, outcome="refunded", note="?", actor=staff)
    with pytest.raises(orders.SettleError, match="needs attention"):
        orders.settle_accepted(order_id=card.pk, outcome="refunded", note="twice", actor=staff)
    lifecycle.move(Order.objects.get(pk=never.pk), S.CANCELLED, staff, note="closed")
    assert batch_progress(batch).done


def test_not_found_before_a_later_send_is_no_proof_that_send_never_reached_the_api(synced, staff, settings):
    """NOT_FOUND answered days before a resend says nothing of that resend: the close's window is
    counted from a NOT_FOUND after the last attempt, so a debited resend is never closed on it."""
    synced.inject_fault("send", "error_500_before", count=1)  # the first POST: no clear answer, not taken
    order = place(staff)
    assert send(order, staff).outcome == "unknown"
    settings.ONECLICKDZ_RESEND_AFTER_SECONDS = 10**6
    order = refresh(order)
    assert order.status == S.UNKNOWN and order.not_found_since is not None
    # The order waited three days; then it is sent again, debited, and the answer is lost.
    Order.objects.filter(pk=order.pk).update(not_found_since=timezone.now() - timedelta(
        hours=settings.ONECLICKDZ_NOT_FOUND_CLOSE_HOURS + 1))
    lose_the_answer(synced, settings)
    synced.inject_fault("check-ref", "not_found", count=50)  # the read side lags behind the debit
    settings.ONECLICKDZ_RESEND_AFTER_SECONDS = 0
    for _cycle in range(planning.MAX_SEND_ATTEMPTS):
        refresh(order)
    order = Order.objects.get(pk=order.pk)
    assert order.status == S.ATTENTION, history(order)
    assert synced.net_debits()[order.ref] == Decimal("980")
    Order.objects.filter(pk=order.pk).update(sent_at=timezone.now() - planning.LOOKUP_LAG * 2)
    closed, refused = orders.close_never_sent([Order.objects.get(pk=order.pk)], actor=staff)
    assert closed == [] and Order.objects.get(pk=order.pk).status == S.ATTENTION, refused


def test_a_ledger_row_whose_time_cannot_be_read_may_be_the_debit_of_an_order_being_closed(synced, staff, settings):
    """A debit row the client cannot read, time included, is stored at the time it was fetched:
    it may be the debit of any order sent before that, so it is no proof of no debit."""
    from topups.services import ledger

    settings.LEDGER_GRACE_SECONDS = 0
    lose_the_answer(synced, settings)
    order = place(staff)
    assert send(order, staff).outcome == "unknown"
    (debit,) = [row for row in synced.ledger() if row["type"] == "ADSL"]
    synced.spoil_ledger_row(debit["_id"], {"time": None, "amount": "N/A"})
    synced.inject_fault("check-ref", "not_found", count=50)  # the read side lags behind the debit
    settings.ONECLICKDZ_RESEND_AFTER_SECONDS = 0
    for _cycle in range(planning.MAX_SEND_ATTEMPTS):
        refresh(order)
    assert Order.objects.get(pk=order.pk).status == S.ATTENTION
    Order.objects.filter(pk=order.pk).update(sent_at=timezone.now() - planning.LOOKUP_LAG * 2)
    assert read_ledger_past_the_last_attempt(ledger)
    assert LedgerRow.objects.filter(raw__isnull=False).count() == 1
    closed, refused = orders.close_never_sent([Order.objects.get(pk=order.pk)], actor=staff)
    assert closed == [] and "debit that may be its" in refused[0][1], refused
    assert synced.net_debits()[order.ref] == Decimal("980")
