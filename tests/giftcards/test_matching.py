"""The rule that finds a gift order whose placeOrder answer was lost: every branch, then once over
HTTP against the simulator (a reset after placeOrder, the list walk, the rule adopts the order)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.project.test_layers import TOPUPS, offenders
from topups.lines.giftcards.matching import DEFAULT_SKEW, Attempt, Verdict, decide
from topups.oneclick import GiftOrder, GiftOrderStatus, MemoryKeyGuard, OneClickClient, OutcomeUnknown
from topups.simulator.testing import serve_in_thread

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PSN = "507f1f77bcf86cd799439011"
LAG = timedelta(seconds=30)
ATTEMPT = Attempt(PSN, "type_001", 2, started_at=T0, ended_at=T0 + timedelta(seconds=20),
                  expected_debit=Decimal(980))


def order(order_id="o1", product=PSN, type_id="type_001", quantity=2, at=T0 + timedelta(seconds=1)) -> GiftOrder:
    return GiftOrder(id=order_id, status=GiftOrderStatus.HANDLING, quantity=quantity, product_id=product,
                     type_id=type_id, created_at=at)


@dataclass(frozen=True)
class Row:
    objid: str
    amount: Decimal | None = Decimal(980)
    time: datetime | None = T0 + timedelta(seconds=1)
    type: str = "ORDER"


LATER = T0 + timedelta(minutes=5)


def ask(listed=(), claimed=(), rows=(), synced=LATER, now=LATER, attempt=ATTEMPT):
    return decide(attempt, listed=listed, claimed=claimed, ledger_rows=rows, ledger_synced_to=synced, lag=LAG,
                  now=now)


# ADOPT -------------------------------------------------------------------------------------------


def test_the_one_unclaimed_match_is_adopted_among_orders_that_are_not_ours():
    ours = order("ours")
    others = [order("other-type", type_id="type_002"), order("other-qty", quantity=3),
              order("other-product", product="p2"), order("too-early", at=T0 - DEFAULT_SKEW - timedelta(seconds=1)),
              order("too-late", at=ATTEMPT.ended_at + DEFAULT_SKEW + timedelta(seconds=1))]
    decision = ask([*others, ours])
    assert decision.verdict is Verdict.ADOPT and decision.order is ours and decision.candidates == (ours,)


def test_adoption_needs_neither_the_lag_nor_the_ledger():
    decision = ask([order()], synced=None, now=ATTEMPT.ended_at)
    assert decision.verdict is Verdict.ADOPT


def test_a_match_already_claimed_by_another_order_of_ours_is_skipped():
    decision = ask([order("taken"), order("free")], claimed={"taken"})
    assert decision.verdict is Verdict.ADOPT and decision.order.id == "free"


def test_the_window_is_widened_by_the_skew():
    decision = ask([order(at=T0 - DEFAULT_SKEW)])
    assert decision.verdict is Verdict.ADOPT


# AMBIGUOUS ---------------------------------------------------------------------------------------


def test_two_unclaimed_matches_are_ambiguous():
    decision = ask([order("a"), order("b")])
    assert decision.verdict is Verdict.AMBIGUOUS and [o.id for o in decision.candidates] == ["a", "b"]
    assert decision.order is None and "a, b" in decision.reason


def test_a_match_beside_an_order_the_list_describes_too_little_is_ambiguous():
    vague = GiftOrder(id="vague", status=GiftOrderStatus.FULFILLED, quantity=2, created_at=T0)
    decision = ask([order("a"), vague])
    assert decision.verdict is Verdict.AMBIGUOUS and [o.id for o in decision.candidates] == ["a", "vague"]


@pytest.mark.parametrize("vague", [
    GiftOrder(id="v", status=GiftOrderStatus.HANDLING, quantity=2, product_id=PSN, created_at=T0),
    GiftOrder(id="v", status=GiftOrderStatus.HANDLING, quantity=None, product_id=PSN, type_id="type_001",
              created_at=T0),
    GiftOrder(id="v", status=GiftOrderStatus.HANDLING, quantity=2, product_id=PSN, type_id="type_001"),
])
def test_an_order_that_may_be_ours_alone_is_ambiguous_never_never_placed(vague):
    assert ask([vague]).verdict is Verdict.AMBIGUOUS


def test_an_order_whose_known_fields_rule_it_out_is_not_vague():
    assert ask([GiftOrder(id="v", status=GiftOrderStatus.HANDLING, quantity=5, created_at=None)]).verdict \
        is Verdict.NEVER_PLACED


# NEVER_PLACED and WAIT ---------------------------------------------------------------------------


def test_nothing_listed_nothing_debited_past_the_lag_is_never_placed():
    decision = ask([order("other", type_id="type_002")], rows=[Row("other")])
    assert decision.verdict is Verdict.NEVER_PLACED and decision.candidates == ()


def test_within_the_lag_it_waits():
    decision = ask(now=ATTEMPT.ended_at + LAG - timedelta(milliseconds=1))
    assert decision.verdict is Verdict.WAIT and "list" in decision.reason
    assert ask(now=ATTEMPT.ended_at + LAG).verdict is Verdict.NEVER_PLACED


@pytest.mark.parametrize("synced", [None, ATTEMPT.ended_at, ATTEMPT.ended_at + DEFAULT_SKEW - timedelta(seconds=1)])
def test_a_ledger_not_synced_past_the_attempt_waits(synced):
    decision = ask(synced=synced)
    assert decision.verdict is Verdict.WAIT and "ledger" in decision.reason


@pytest.mark.parametrize("row", [
    Row("unlisted"),  # the list lags behind the ledger: this debit may be ours
    Row(""),  # a debit without an order id
    Row("unlisted", amount=None),  # a row whose amount cannot be read
    Row("unlisted", time=None),  # a row whose time cannot be read, from the window's walk
])
def test_an_unexplained_debit_of_that_amount_waits(row):
    decision = ask(rows=[row])
    assert decision.verdict is Verdict.WAIT and "not explained" in decision.reason


@pytest.mark.parametrize("row", [
    Row("claimed"),  # another order of ours
    Row("listed-other"),  # an order the list shows as not ours
    Row("unlisted", amount=Decimal(490)),  # another amount
    Row("unlisted", time=T0 - timedelta(hours=1)),  # outside the window
    Row("unlisted", type="ADSL"),  # not a gift order
    Row("unlisted", type="REFUND-ORDER"),
])
def test_explained_or_unrelated_rows_do_not_stop_never_placed(row):
    decision = ask([order("listed-other", quantity=1)], claimed={"claimed"}, rows=[row])
    assert decision.verdict is Verdict.NEVER_PLACED


def test_without_an_expected_debit_any_unexplained_order_debit_waits():
    attempt = Attempt(PSN, "type_001", 2, T0, T0 + timedelta(seconds=20), expected_debit=None)
    assert ask(rows=[Row("unlisted", amount=Decimal(1))], attempt=attempt).verdict is Verdict.WAIT


def test_an_attempt_cannot_end_before_it_starts():
    with pytest.raises(ValueError):
        Attempt(PSN, "type_001", 1, T0, T0 - timedelta(seconds=1), Decimal(490))


# Over HTTP -------------------------------------------------------------------------------------------


def test_a_reset_after_place_order_then_the_list_walk_adopts_exactly_that_order():
    with serve_in_thread(keys={"k": None}, gift_list_lag=10) as api:
        sim = api.simulator
        client = OneClickClient(api.url, "k", get_retries=0, backoff_factor=0, key_guard=MemoryKeyGuard())
        # Around ours: an order of another type, and an identical one already linked to another order of ours.
        client.place_gift_order(PSN, "type_002", 2)
        claimed = client.place_gift_order(PSN, "type_001", 2).order_id
        started = sim.now()
        sim.inject_fault("gift-place-order", "reset_after")
        with pytest.raises(OutcomeUnknown):
            client.place_gift_order(PSN, "type_001", 2)
        ended = sim.now()
        attempt = Attempt(PSN, "type_001", 2, started, ended, expected_debit=Decimal(980))
        start, end = attempt.window()

        def walk():
            listed = list(client.iter_gift_orders(from_=start, to=end))
            rows = list(client.iter_transactions(from_=start, to=end))
            return decide(attempt, listed=listed, claimed={claimed}, ledger_rows=rows, lag=timedelta(seconds=10),
                          ledger_synced_to=sim.now(), now=sim.now())

        first = walk()  # the list lags: ours is not there yet, and the ledger shows a debit nobody explains
        assert first.verdict is Verdict.WAIT
        sim.advance(11)
        decision = walk()
        placed = [o for o in sim.orders() if o["_id"] not in (claimed,) and o["type"] == "type_001"]
        assert decision.verdict is Verdict.ADOPT and [decision.order.id] == [o["_id"] for o in placed]
        assert sim.stats()["orders"] == 3


def test_the_rule_is_pure_python():
    """No Django and nothing of the app's layers: only the client's types may be named. (The rest of
    the line's package is the Django side that walks the list and the ledger and asks the rule.)"""
    modules = [TOPUPS / "lines" / "giftcards" / "matching.py"]
    assert modules and offenders(modules, re.compile(r"^(django|topups(?!\.oneclick(\.|$)))(\.|$)")) == []
