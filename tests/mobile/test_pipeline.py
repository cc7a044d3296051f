"""Mobile orders sent and followed through the one order pipeline, against the simulator over
HTTP: every outcome, UNKNOWN_ERROR resolving both ways, ambiguous failures reconciled by ref."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests import factories
from tests.factories import history, refresh
from topups.models import Order, OrderEvent, OrderStatus
from topups.services import orders, sending, sync
from topups.services.actors import SYNC

S = OrderStatus
pytestmark = pytest.mark.django_db


def place(staff, number=None, **fields) -> Order:
    return factories.place(staff, number, service="mobile", **fields)


def send(order, staff) -> sending.SendReport:
    return sending.send_order(order_id=order.pk, actor=staff)


def test_a_fulfilled_mobile_top_up(sim, staff):
    order = place(staff)
    report = send(order, staff)
    order.refresh_from_db()
    assert report.outcome == "sent" and order.status == S.HANDLING and order.api_status == "PENDING"
    assert "check-number" not in sim.stats()["calls"]  # no internet number check for a mobile number
    sim.advance(5)
    order = refresh(order)
    assert order.status == S.FULFILLED and order.processed_at and order.card_code == ""
    assert order.cost == Decimal("992.50") and order.next_check_at is None
    assert history(order)[-1] == (S.HANDLING, S.FULFILLED)
    assert sim.stats()["refs"][order.ref] == {"orders": 1, "attempts": 1}
    assert sim.stats()["total_debited"] == Decimal("992.50")


def test_refunded_with_the_message_for_the_customer(sim, staff):
    order = place(staff, number="0600000001", plan_code="PREPAID_MOBILIS")
    send(order, staff)
    sim.advance(5)
    order = refresh(order)
    assert order.status == S.REFUNDED and order.refund_message and not order.suggested_offers
    assert sim.stats()["total_refunded"] == Decimal("960.00")


def test_refunded_with_suggested_offers(sim, staff):
    order = place(staff, number="0600000002", plan_code="PREPAID_MOBILIS")
    send(order, staff)
    sim.advance(5)
    order = refresh(order)
    assert order.status == S.REFUNDED and order.refund_message
    assert order.suggested_offers and {"typename", "plan_code", "amount"} <= set(order.suggested_offers[0])
    # An offer is sent with one click as a new order.
    offer = order.suggested_offers[0]
    again, created = orders.create_order(service="mobile", plan_code=offer["plan_code"], number=order.number,
                                         value=Decimal(offer["amount"]), actor=staff)
    assert created and again.plan_code == offer["plan_code"]


@pytest.mark.parametrize(("number", "final"), [("0700000003", S.FULFILLED), ("0700000004", S.REFUNDED)])
def test_unknown_error_is_uncertain_never_refunded_then_resolves(sim, staff, number, final):
    order = place(staff, number=number)
    send(order, staff)
    sim.advance(5)
    order = refresh(order)
    assert order.status == S.UNCERTAIN and order.refund_message and not order.is_final
    assert handed_back_in_the_books(order) == 0  # the books keep it a sale: the customer is not refunded
    assert (order.next_check_at - order.last_checked_at) == timedelta(hours=1)  # re-checked hourly
    assert sim.stats()["total_refunded"] == 0
    sim.advance(3600)
    order = refresh(order)
    assert order.status == final
    assert history(order)[-2:] == [(S.HANDLING, S.UNCERTAIN), (S.UNCERTAIN, final)]
    assert handed_back_in_the_books(order) == (order.price if final == S.REFUNDED else 0)


def handed_back_in_the_books(order) -> Decimal:
    """What the day's report (by service) shows as handed back for this, the day's only order; its
    sales figure is the rest."""
    from topups.selectors.books import report

    today = timezone.localdate()
    (row,) = report(start=today, end=today, group="service").rows
    assert row.orders == 1 and row.revenue + row.refunds == order.price
    return row.refunds


def test_uncertain_for_48_hours_needs_attention(sim, staff):
    sim.configure(mobile_unknown_for=10 * 86400)
    order = place(staff, number="0700000003")
    send(order, staff)
    sim.advance(5)
    assert refresh(order).status == S.UNCERTAIN
    order = refresh(order, now=timezone.now() + timedelta(hours=49))
    assert order.status == S.ATTENTION
    assert "48 hours" in OrderEvent.objects.filter(order=order).last().note


def test_a_getmenu_request_answers_the_numbers_offers(sim, staff):
    order = place(staff, number="0551234567", plan_code="GETMENU_Ooredoo", value=None)
    assert (order.value, order.cost) == (Decimal(0), Decimal(0))
    send(order, staff)
    sim.advance(5)
    order = refresh(order)
    assert order.status == S.REFUNDED and order.suggested_offers
    assert sim.stats()["total_debited"] == 0


def test_a_plan_without_cost_takes_the_cost_the_api_debited(sim, staff):
    order = place(staff, number="0661234567", plan_code="GROS_MOBILIS", value=6000)
    assert order.cost is None
    send(order, staff)
    sim.advance(5)
    order = refresh(order)
    assert order.status == S.FULFILLED and order.cost == Decimal(6000)


def test_the_api_refusing_the_send_refuses_the_order(sim, staff):
    order = place(staff)
    sim.set_plan("PREPAID_DJEZZY", enabled=False)  # disabled after our cache was read
    send(order, staff)
    order.refresh_from_db()
    assert order.status == S.REFUSED and order.refusal_code == "ERR_VALIDATION"
    assert sim.stats()["total_debited"] == 0


def test_insufficient_balance(sim, staff):
    sim.set_balance(100)
    order = place(staff)
    send(order, staff)
    order.refresh_from_db()
    assert order.status == S.REFUSED and order.refusal_code == "INSUFFICIENT_BALANCE"


def test_a_mixed_cycle_walks_each_services_list(sim, staff, synced):
    mobiles = [place(staff, number=f"07780373{i:02d}") for i in range(6)]
    cards = [factories.place(staff, f"0363626{i:02d}") for i in range(6)]
    for order in [*mobiles, *cards]:
        send(order, staff)
    sim.advance(5)
    calls_before = dict(sim.stats()["calls"])
    report = sync.refresh_orders(list(Order.objects.filter(status=S.HANDLING)), actor=SYNC)
    calls = {k: v - calls_before.get(k, 0) for k, v in sim.stats()["calls"].items()}
    assert report.changed == 12 and calls.get("mobile-list") == 1 and calls.get("list") == 1
    assert not calls.get("mobile-check-id") and not calls.get("check-id")
    assert set(Order.objects.values_list("status", flat=True)) == {S.FULFILLED}
