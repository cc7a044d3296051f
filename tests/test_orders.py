"""Orders end to end through the services and the simulator over HTTP: every outcome."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from topups.models import Order, OrderEvent, OrderStatus, Product
from topups.services import catalog, orders
from topups.services.actors import SYNC, Actor

S = OrderStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(operator):
    return Actor.user(operator)


@pytest.fixture
def synced(sim):
    """The catalog cached from the simulator, as the schedule would have it."""
    report = catalog.sync_catalog()
    assert report.ok
    return sim


def place(staff, number="036362600", value=1000, line_type="ADSL", **kwargs) -> Order:
    order, created = orders.create_order(line_type=line_type, number=number, value=Decimal(value), actor=staff,
                                         **kwargs)
    assert created
    return order


def send(order, staff) -> orders.SendReport:
    return orders.send_order(order_id=order.pk, actor=staff)


def refresh(order) -> Order:
    orders.refresh_orders([Order.objects.get(pk=order.pk)], actor=SYNC)
    return Order.objects.get(pk=order.pk)


def history(order) -> list[tuple[str, str]]:
    return list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status"))


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


def test_duplicated_ref_adopts_the_existing_order(synced, simulator_server, staff):
    # Someone (an earlier attempt) already placed this ref at the API.
    answer = requests.post(f"{simulator_server.url}/internet/send", headers={"X-Access-Token": "test-key-0000"},
                           json={"type": "ADSL", "number": "036362600", "value": 1000, "ref": "OC-ADOPT-1"}, timeout=5)
    assert answer.json()["success"]
    order = place(staff, ref="OC-ADOPT-1")
    report = send(order, staff)
    order.refresh_from_db()
    assert report.outcome == "adopted"
    assert order.status == S.HANDLING and order.topup_id == answer.json()["data"]["topupId"]
    stats = synced.stats()
    assert stats["refs"]["OC-ADOPT-1"] == {"orders": 1, "attempts": 2}
    assert stats["total_debited"] == Decimal("980")


def test_read_timeout_after_accept_is_reconciled_without_second_debit(synced, staff, settings):
    settings.ONECLICKDZ_READ_TIMEOUT = 0.5
    orders_module_client_reset()
    synced.inject_fault("send", "timeout_after_accept", count=1, hang_seconds=3)
    order = place(staff)
    report = send(order, staff)
    order.refresh_from_db()
    assert report.outcome == "unknown" and order.status == S.UNKNOWN and order.topup_id == ""
    order = refresh(order)  # found by its ref
    assert order.status == S.HANDLING and order.topup_id
    synced.advance(5)
    assert refresh(order).status == S.FULFILLED
    stats = synced.stats()
    assert stats["refs"][order.ref] == {"orders": 1, "attempts": 1}
    assert stats["total_debited"] == Decimal("980")


def test_500_before_accept_is_sent_again_with_the_same_ref_once_safe(synced, staff, settings):
    synced.inject_fault("send", "error_500_before", count=1)
    order = place(staff)
    assert send(order, staff).outcome == "unknown"
    order = refresh(order)  # NOT_FOUND, but too early to resend
    assert order.status == S.UNKNOWN and synced.stats()["refs"][order.ref]["orders"] == 0
    settings.ONECLICKDZ_RESEND_AFTER_SECONDS = 0
    refresh(order)  # NOT_FOUND and safe now: resent inline (tasks run synchronously in tests)
    order.refresh_from_db()
    assert order.status == S.HANDLING and order.send_attempts == 2
    assert synced.stats()["refs"][order.ref] == {"orders": 1, "attempts": 2}


def test_transport_error_puts_the_order_back_to_wait(sim, staff, settings):
    settings.ONECLICKDZ_API_URL = "http://127.0.0.1:9/v3"  # nothing listens there
    orders_module_client_reset()
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
    with pytest.raises(orders.IllegalTransition):
        orders._apply_one(order, S.FULFILLED, staff)
    order.refresh_from_db()
    assert order.status == S.NEW


def test_stale_sending_is_reconciled_by_ref(synced, staff, settings):
    settings.ONECLICKDZ_SENDING_LEASE_SECONDS = 0
    order = place(staff)
    claimed = orders._claim_for_sending(order.pk, staff)  # a worker claimed it, then died
    assert claimed is not None
    report = orders.sync_due_orders()
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
    orders.sync_due_orders()
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
            report = orders.sync_due_orders()
        assert report.changed == count
        return len(ctx.captured_queries)

    assert cycle_queries(6) == cycle_queries(40)


def orders_module_client_reset():
    from topups.services import account

    account._client.cache_clear()


def test_sends_and_manual_refreshes_are_audited(synced, staff):
    from topups.models import AuditEvent

    order = place(staff)
    orders.request_send(Order.objects.filter(pk=order.pk), actor=staff)
    orders.refresh_orders([Order.objects.get(pk=order.pk)], actor=staff)
    orders.refresh_orders([Order.objects.get(pk=order.pk)], actor=SYNC)  # the sync is not audited
    rows = list(AuditEvent.objects.order_by("id").values_list("action", "actor_label", "target"))
    assert rows == [("send", "olga", order.ref), ("refresh", "olga", order.ref)]
