"""Gift-card orders through the client against the simulator over HTTP: every outcome and fault,
with what the ledger (/account/transactions) shows for each."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from topups.lines.giftcards.matching import Attempt, Verdict, decide
from topups.oneclick import (
    GiftOrderStatus,
    InsufficientBalance,
    MemoryKeyGuard,
    OneClickClient,
    OutcomeUnknown,
    OutOfStock,
    ValidationFailed,
)
from topups.oneclick.errors import ORDER_REFUSALS
from topups.simulator.testing import serve_in_thread

KEY = "gift-outcomes-key"
PSN = "507f1f77bcf86cd799439011"
STEAM = "507f1f77bcf86cd799439014"


@pytest.fixture(scope="module")
def server():
    with serve_in_thread(keys={KEY: None}) as running:
        yield running


@pytest.fixture
def sim(server):
    server.simulator.reset()
    return server.simulator


@pytest.fixture
def client(server, sim):
    with OneClickClient(server.url, KEY, get_retries=0, backoff_factor=0, read_timeout=0.5,
                        key_guard=MemoryKeyGuard()) as api_client:
        yield api_client


def ledger(client):
    """The ledger as the API lists it, oldest first: (type, amount, objid)."""
    return [(row.type, row.amount, row.objid) for row in reversed(list(client.iter_transactions()))]


def final(client, sim, order_id):
    sim.advance(3)
    return client.gift_check_order(order_id)


def test_fulfilled(client, sim):
    placed = client.place_gift_order(PSN, "type_001", 2)
    assert client.gift_check_order(placed.order_id).status is GiftOrderStatus.HANDLING
    order = final(client, sim, placed.order_id)
    assert (order.status, order.delivered, order.price_per_card, order.fulfilled_amount) == (
        GiftOrderStatus.FULFILLED, 2, Decimal(490), Decimal(980))
    assert [card.value for card in order.cards] == ["SANDBOX-CARD-1", "SANDBOX-CARD-2"]
    assert (order.product_id, order.type_id, order.ordered_amount, order.undelivered_amount) == (
        PSN, "type_001", Decimal(980), Decimal(0))
    assert ledger(client) == [("ORDER", Decimal(980), placed.order_id)]
    assert client.balance().amount == Decimal(100000 - 980)


def test_partially_filled(client, sim):
    placed = client.place_gift_order(PSN, "TEST_PARTIAL", 4)
    order = final(client, sim, placed.order_id)
    assert (order.status, order.delivered, len(order.cards), order.undelivered_amount) == (
        GiftOrderStatus.PARTIALLY_FILLED, 2, 2, Decimal(980))
    assert ledger(client) == [("ORDER", Decimal(1960), placed.order_id),
                              ("REFUND-ORDER", Decimal(980), placed.order_id)]
    refund = next(client.iter_transactions())
    assert refund.time == order.created_at + timedelta(seconds=3)


def test_refunded(client, sim):
    placed = client.place_gift_order(PSN, "TEST_REFUND", 3)
    order = final(client, sim, placed.order_id)
    assert (order.status, order.delivered, order.cards, order.undelivered_amount) == (
        GiftOrderStatus.REFUNDED, 0, (), Decimal(1470))
    assert ledger(client) == [("ORDER", Decimal(1470), placed.order_id),
                              ("REFUND-ORDER", Decimal(1470), placed.order_id)]
    assert client.balance().amount == Decimal(100000)


def test_out_of_stock_then_back_in_stock(client, sim):
    with pytest.raises(OutOfStock) as caught:
        client.place_gift_order(PSN, "type_003", 1)
    assert isinstance(caught.value, ORDER_REFUSALS) and caught.value.details["available"] == 0
    product = client.gift_check_product(PSN)
    assert not product.type("type_003").in_stock
    sim.set_gift_stock(PSN, "type_003", 1)
    assert client.gift_check_product(PSN).type("type_003").stock == 1
    placed = client.place_gift_order(PSN, "type_003", 1)
    assert ledger(client) == [("ORDER", Decimal(1960), placed.order_id)]
    with pytest.raises(OutOfStock):
        client.place_gift_order(PSN, "type_003", 1)  # the one card is sold


def test_disabled_product(client, sim):
    steam = next(p for p in client.gift_catalog().products if p.id == STEAM)
    assert not steam.enabled
    with pytest.raises(ValidationFailed) as caught:
        client.place_gift_order(STEAM, "steam_1000", 1)
    assert isinstance(caught.value, ORDER_REFUSALS) and caught.value.details["field"] == "productId"
    assert ledger(client) == []


def test_insufficient_balance(client, sim):
    sim.set_balance(500)
    with pytest.raises(InsufficientBalance) as caught:
        client.place_gift_order(PSN, "type_001", 2)
    assert caught.value.details == {"required": 980, "available": 500}
    assert ledger(client) == [("WITHDRAW", Decimal("99500.00"), "")]
    assert client.list_gift_orders().items == ()


# Faults ------------------------------------------------------------------------------------------


def lost_answer(client, sim, kind, **fault):
    """Place an order whose answer is spoiled by ``kind``; the Attempt as our side would record it."""
    sim.inject_fault("gift-place-order", kind, **fault)
    started = sim.now()
    with pytest.raises(OutcomeUnknown):
        client.place_gift_order(PSN, "type_001", 2)
    return Attempt(PSN, "type_001", 2, started, sim.now(), expected_debit=Decimal(980))


def rule(client, sim, attempt, lag):
    start, end = attempt.window()
    return decide(attempt, listed=client.iter_gift_orders(from_=start, to=end), claimed=(),
                  ledger_rows=list(client.iter_transactions(from_=start, to=end)), ledger_synced_to=sim.now(),
                  lag=lag, now=sim.now())


@pytest.mark.parametrize(("kind", "fault"), [("timeout_after_accept", {"hang_seconds": 2}), ("reset_after", {})])
def test_a_lost_answer_after_the_order_was_placed(client, sim, kind, fault):
    attempt = lost_answer(client, sim, kind, **fault)
    (order_id,) = [o["_id"] for o in sim.orders()]
    assert ledger(client) == [("ORDER", Decimal(980), order_id)]
    sim.advance(1)
    decision = rule(client, sim, attempt, lag=timedelta(0))
    assert decision.verdict is Verdict.ADOPT and decision.order.id == order_id
    assert final(client, sim, order_id).status is GiftOrderStatus.FULFILLED


def test_a_5xx_before_placing_is_never_placed_once_the_lag_has_passed(client, sim):
    attempt = lost_answer(client, sim, "error_500_before")
    assert sim.orders() == [] and ledger(client) == []
    lag = timedelta(seconds=30)
    assert rule(client, sim, attempt, lag).verdict is Verdict.WAIT
    sim.advance(31)  # past the lag, but the ledger is not read past the attempt's window (skew: 2 min)
    assert "ledger" in rule(client, sim, attempt, lag).reason
    sim.advance(120)
    assert rule(client, sim, attempt, lag).verdict is Verdict.NEVER_PLACED
    assert sim.stats()["faults_fired"] == {"error_500_before": 1}


def test_the_list_lag_hides_a_placed_order_while_the_ledger_already_shows_its_debit(client, sim):
    sim.configure(gift_list_lag=20)
    attempt = lost_answer(client, sim, "reset_after")
    (order_id,) = [o["_id"] for o in sim.orders()]
    assert client.gift_check_order(order_id).id == order_id  # checkOrder knows it at once
    assert client.list_gift_orders().items == ()
    decision = rule(client, sim, attempt, lag=timedelta(seconds=20))
    assert decision.verdict is Verdict.WAIT
    sim.advance(25)  # past the lag but the ledger still has the debit: it could never be NEVER_PLACED
    assert [o.id for o in client.list_gift_orders().items] == [order_id]
    assert rule(client, sim, attempt, lag=timedelta(seconds=20)).order.id == order_id
    assert ledger(client) == [("ORDER", Decimal(980), order_id)]


def test_the_rule_waits_on_an_unexplained_debit_even_past_the_lag(client, sim):
    sim.configure(gift_list_lag=3600)  # the list lags far longer than the rule's lag
    attempt = lost_answer(client, sim, "reset_after")
    sim.advance(180)
    decision = rule(client, sim, attempt, lag=timedelta(seconds=30))
    assert decision.verdict is Verdict.WAIT and "not explained" in decision.reason
