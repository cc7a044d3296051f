"""Several workers sending the same orders at the same time: each order is sent exactly once.

Runs on the configured database: SQLite in `make test`, PostgreSQL in the second pass of .ci/run,
where the claim rests on row locks and a conditional UPDATE.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from topups.lines.internet import catalog
from topups.models import Order, OrderEvent, OrderStatus
from topups.services import orders, sending
from topups.services.actors import Actor

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_senders_send_each_order_once(sim, operator):
    catalog.sync_catalog()
    staff = Actor.user(operator)
    created = [
        orders.create_order(line_type="ADSL", number=f"0363627{i:02d}", value=Decimal(500), actor=staff)[0]
        for i in range(24)
    ]
    ids = [o.pk for o in created]
    outcomes: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(6)

    def worker(seed: int) -> None:
        mine = ids[:]
        random.Random(seed).shuffle(mine)
        try:
            start.wait()
            for order_id in mine:
                outcomes.append(sending.send_order(order_id=order_id, actor=Actor.task(f"worker-{seed}")).outcome)
        except BaseException as exc:  # surfaced below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures
    counts = Counter(outcomes)
    assert counts["sent"] == 24 and counts["not_claimed"] == 24 * 5
    stats = sim.stats()
    assert all(stats["refs"][o.ref] == {"orders": 1, "attempts": 1} for o in created)
    assert stats["total_debited"] == Decimal(490) * 24
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.HANDLING}
    sending_events = Counter(OrderEvent.objects.filter(to_status=OrderStatus.SENDING).values_list("order_id", flat=True))
    assert sorted(sending_events.values()) == [1] * 24
