"""Crash: a qcluster killed with SIGKILL while its workers are in the middle of sending, then
restarted. Nothing is sent twice and nothing stays stuck: the orders left in SENDING pass their
lease, become UNKNOWN ("the send was interrupted") and are reconciled by their reference.

Runs on the embedded default (SQLite, ORM broker) and on PostgreSQL + Redis alike.
"""

from __future__ import annotations

import signal
from decimal import Decimal

import pytest

from tests import processes
from tests.cluster.test_chaos import FAST_TIMINGS, describe, qclusters
from tests.processes import wait_for
from topups.lines.internet import catalog
from topups.models import FINAL_STATUSES, Order, OrderEvent, OrderStatus
from topups.services import orders, sync
from topups.services.actors import Actor

S = OrderStatus
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster, pytest.mark.slow, pytest.mark.crash]

# As many orders as the cluster has workers, one per task: every order is mid-send at the kill.
WORKERS = 2
# The simulator holds each send this long before answering: the kill lands inside it.
SEND_LATENCY_MS = 3000


@pytest.fixture
def queued_tasks(settings, monkeypatch):
    """Tasks go to the broker (not run inline), which starts empty; same short timings as the cluster."""
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    for name, value in FAST_TIMINGS.items():
        setattr(settings, name, value)
    monkeypatch.setattr(Conf, "SYNC", False)
    broker = get_broker()
    broker.purge_queue()
    yield broker
    broker.purge_queue()


@pytest.mark.timeout(240)
def test_worker_killed_mid_send_sends_nothing_twice_and_nothing_stays_stuck(sim, simulator_server, operator,
                                                                             queued_tasks):
    sim.configure(fulfil_after=1)
    assert catalog.sync_catalog().ok
    actor = Actor.user(operator)
    placed = [
        orders.create_order(line_type="ADSL", number=f"03636{index:02d}{index:02d}", value=Decimal(1000),
                            actor=actor)[0]
        for index in range(WORKERS)
    ]
    refs = [o.ref for o in placed]
    sim.inject_fault("send", "latency", latency_ms=SEND_LATENCY_MS, count=WORKERS)

    with qclusters(simulator_server, 1, workers=WORKERS, log_name="crash-qcluster") as (cluster,):
        orders.request_send(Order.objects.filter(pk__in=[o.pk for o in placed]), actor=actor)
        # Every order's POST has reached the API, whose answer is still SEND_LATENCY_MS away.
        assert wait_for(lambda: all(sim.stats()["refs"].get(ref, {}).get("attempts") for ref in refs), 30), \
            sim.stats()["refs"]
        assert set(Order.objects.filter(pk__in=[o.pk for o in placed]).values_list("status", flat=True)) == {S.SENDING}
        processes.stop_group(cluster, signal.SIGKILL)

    with qclusters(simulator_server, 1, workers=WORKERS, log_name="crash-qcluster-restarted"):
        # The restarted cluster's schedules drive the sweeper too; driving it from here as well is
        # safe and keeps the test short (the kill may have left the sweeper lock behind).
        def settled() -> bool:
            sync.sync_due_orders()
            return not Order.objects.exclude(status__in=FINAL_STATUSES).exists()

        assert wait_for(settled, 90, step=1), "\n".join(describe(o, sim) for o in Order.objects.all())

    stats = sim.stats()
    assert stats["max_orders_per_ref"] == 1
    for order in Order.objects.all():
        assert order.status == S.FULFILLED, describe(order, sim)
        assert stats["refs"][order.ref]["orders"] == 1
        moves = list(OrderEvent.objects.filter(order=order).order_by("pk").values_list("from_status", "to_status"))
        # Reconciled by reference after the lease, not sent blindly again.
        assert (S.SENDING, S.UNKNOWN) in moves, describe(order, sim)
    assert stats["total_debited"] == sum(o.cost for o in Order.objects.all())
