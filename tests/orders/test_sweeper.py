"""The status sync leaves no gap: the first look comes seconds after the API accepted the order, a
sweeper hands over to its successor before it ends, and a list walk applies what it carries to
every tracked order it matches, QUEUED ones not yet due included. Looks share a beat, so
one list page answers the orders accepted together."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.factories import place
from topups import tasks
from topups.lines.internet import catalog
from topups.models import Order, OrderStatus
from topups.services import planning, sending, sync
from topups.services.actors import Actor

S = OrderStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(sim, operator):
    assert catalog.sync_catalog().ok
    return Actor.user(operator)


def place_and_send(staff, number: str) -> Order:
    order = place(staff, number)
    assert sending.send_order(order_id=order.pk, actor=staff).outcome == "sent"
    return Order.objects.get(pk=order.pk)


def test_first_look_falls_on_the_first_beat_after_acceptance(staff):
    order = place_and_send(staff, "036362600")
    wait = (order.next_check_at - order.sent_at).total_seconds()
    beat = planning.FAST_POLL.total_seconds()
    assert planning.FIRST_LOOK.total_seconds() <= wait <= planning.FIRST_LOOK.total_seconds() + beat + 0.5
    assert order.next_check_at.timestamp() % beat == 0


def test_orders_accepted_within_a_beat_are_looked_at_together_by_one_call(sim, staff):
    placed = [place_and_send(staff, f"03636260{i}") for i in range(4)]
    looks = {o.next_check_at for o in placed}
    assert len(looks) <= 2  # four sends a moment apart: one beat, or two if they straddle one
    sim.advance(5)
    report = sync.sync_due_orders(now=max(looks))
    assert report.checked == 4 and report.api_calls == 1
    assert set(Order.objects.filter(pk__in=[o.pk for o in placed]).values_list("status", flat=True)) == {S.FULFILLED}
    # Still processing in the fast window: the next look is on the next beat, shared too.
    assert planning.next_check_at(S.HANDLING, max(looks), max(looks)) == max(looks) + planning.FAST_POLL


def test_a_list_walk_applies_what_it_carries_to_queued_orders_not_yet_due(sim, staff):
    queued = place_and_send(staff, "036362691")  # the simulator queues this line, then fulfils it
    sim.advance(5)
    sync.refresh_orders([queued], actor=Actor.task("sync"))
    queued.refresh_from_db()
    assert queued.status == S.QUEUED and queued.next_check_at > timezone.now() + timezone.timedelta(minutes=30)
    due = [place_and_send(staff, f"03636260{i}") for i in range(sync.RECENT_LIST_THRESHOLD)]
    sim.advance(sim.config["queue_for"] + 1)
    Order.objects.filter(pk__in=[o.pk for o in due]).update(next_check_at=timezone.now())
    calls_before = sim.stats()
    report = sync.sync_due_orders()
    assert report.checked == len(due)  # the queued order was not due
    queued.refresh_from_db()
    assert queued.status == S.FULFILLED and queued.card_code
    assert set(Order.objects.filter(pk__in=[o.pk for o in due]).values_list("status", flat=True)) == {S.FULFILLED}
    assert report.api_calls == 1, (report, calls_before)  # one list page answered all six


@pytest.fixture
def queued_tasks(monkeypatch):
    """Run as if under a real cluster (not inline), recording the sweepers enqueued."""
    from django_q.conf import Conf

    enqueued: list[str] = []
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(tasks, "_enqueue_sweeper", enqueued.append)
    cache.delete(tasks.SWEEP_LOCK)
    yield enqueued
    cache.delete(tasks.SWEEP_LOCK)


def test_a_sweeper_hands_over_while_orders_are_followed(staff, queued_tasks):
    place_and_send(staff, "036362600")
    totals = tasks.sync_orders(sweep_seconds=0.5, cycle_seconds=0.2)
    assert totals["cycles"] >= 1 and totals.get("handed_over")
    assert queued_tasks == ["order status sync (hand-over)"]
    assert cache.get(tasks.SWEEP_LOCK) is None  # released before the successor starts


def test_a_sweeper_with_nothing_to_follow_ends_the_chain(staff, queued_tasks):
    totals = tasks.sync_orders(sweep_seconds=0.5, cycle_seconds=0.2)
    assert not totals.get("handed_over") and queued_tasks == []


def test_start_sweeper_enqueues_even_while_a_sweeper_holds_the_lock(staff, queued_tasks):
    cache.add(tasks.SWEEP_LOCK, "another sweeper, about to end", timeout=60)
    tasks.start_sweeper()
    assert queued_tasks == ["order status sync (after a send)"]
    assert tasks.sync_orders(sweep_seconds=0.5, cycle_seconds=0.2) == {"skipped": True}


def test_a_sweeper_wakes_for_the_next_due_order_within_its_cycle(staff):
    assert tasks._pause(1.0) == 1.0  # nothing tracked: the cycle's own pace
    order = place_and_send(staff, "036362600")
    Order.objects.filter(pk=order.pk).update(next_check_at=timezone.now() + timezone.timedelta(seconds=0.5))
    assert 0.3 <= tasks._pause(1.0) <= 0.5
    Order.objects.filter(pk=order.pk).update(next_check_at=timezone.now() - timezone.timedelta(seconds=5))
    assert tasks._pause(1.0) == tasks.MIN_PAUSE_SECONDS  # overdue: soon, never a busy loop


def test_a_few_old_orders_due_together_are_checked_one_by_one(sim, staff):
    """A walk's window reaches back to its oldest order: for a few old ones, a check-id each."""
    old = [place_and_send(staff, f"03636260{i}") for i in range(sync.RECENT_LIST_THRESHOLD)]
    sim.advance(5)
    later = timezone.now() + planning.FAST_WINDOW + timezone.timedelta(minutes=1)
    report = sync.refresh_orders([Order.objects.get(pk=o.pk) for o in old], actor=Actor.task("sync"), now=later)
    assert report.api_calls == len(old) and not sim.stats()["calls"].get("list")
