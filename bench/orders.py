"""Benchmarks of the order pipeline, each measured in one run against the in-process simulator.

(a) One status-sync cycle over 2,000 pending orders: API calls and DB queries per cycle, for
    batches of 100 and 500 (queries must be the same: constant per batch, not per order).
(b) Bulk send of 1,000 orders through a real qcluster with the simulator at 50 ms latency:
    wall time versus the ideal 1,000 × 50 ms ÷ workers, and versus the ideal for the two calls
    each first send makes (number check, then the POST).
(c) The admin order list with 100,000 orders versus 1,000: query count and render time.

Usage: python bench/orders.py [--only a,b,c] [--workers 4]. Uses a fresh SQLite file (or
DATABASE_URL if set). Prints a markdown table and writes bench/out/orders.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

from common import (
    app_on_simulator,
    clean_slate,
    send_through_cluster,
    setup,
    staff_user,
    sync_cycle,
    write_json,
)

setup("bench-orders")

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from topups.lines.internet import catalog  # noqa: E402
from topups.models import Order, OrderStatus  # noqa: E402
from topups.services import account, orders, sync  # noqa: E402
from topups.services.actors import Actor  # noqa: E402

S = OrderStatus


def bench_sync(server) -> dict:
    sim = server.simulator
    clean_slate(server)
    client = account.get_client()
    now = timezone.now()
    rows = []
    for index in range(2000):
        ref = f"OC-BENCH-{index:05d}"
        result = client.send_topup(line_type="ADSL", number=f"0363{index:05d}"[:7] + f"{index % 90:02d}",
                                   value=Decimal(500), ref=ref)
        rows.append(Order(ref=ref, line_type="ADSL", number="036362600", value=Decimal(500), cost=Decimal(490),
                          status=S.HANDLING, topup_id=result.topup_id, sent_at=now, next_check_at=now))
    Order.objects.bulk_create(rows, batch_size=1000)
    sim.advance(10)  # all fulfilled at the API
    figures = {batch: sync_cycle(server, now=now, batch=batch) for batch in (100, 500)}
    cycles = 0
    Order.objects.update(status=S.HANDLING, next_check_at=now, card_code="")
    calls_before = sum(sim.stats()["calls"].values())
    started = time.perf_counter()
    while Order.objects.filter(status=S.HANDLING).exists():
        sync.sync_due_orders(batch_size=500)
        cycles += 1
    figures["all_2000"] = {"cycles": cycles, "api_calls": sum(sim.stats()["calls"].values()) - calls_before,
                           "seconds": round(time.perf_counter() - started, 3)}
    return figures


def bench_send(server, workers: int) -> dict:
    sim = server.simulator
    clean_slate(server, queue=True)
    catalog.sync_catalog()
    actor = Actor.user(staff_user(superuser=True))
    for index in range(1000):
        orders.create_order(line_type="ADSL", number=f"0364{index:03d}{index % 90:02d}", value=Decimal(500),
                            actor=actor)
    sent = send_through_cluster(server, workers, lambda: orders.request_send(Order.objects.all(), actor=actor),
                                orders=1000)
    stats = sim.stats()
    return {
        "enqueue_seconds": sent.pop("start_seconds"),
        **sent,
        "statuses": dict(Counter(Order.objects.values_list("status", flat=True))),
        "api_orders": stats["orders"],
        "max_orders_per_ref": stats["max_orders_per_ref"],
    }


def render_changelist(client: Client, rounds: int = 7) -> tuple[float, int]:
    times, counts = [], []
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get("/admin/topups/order/")
            times.append(time.perf_counter() - started)
        assert response.status_code == 200
        counts.append(len(queries.captured_queries))
    return statistics.median(times), max(counts)


def bench_admin_list() -> dict:
    Order.objects.all().delete()
    user = staff_user(superuser=True)
    client = Client()
    client.force_login(user)
    now = timezone.now()

    def add(count: int, offset: int) -> None:
        statuses = [S.FULFILLED, S.HANDLING, S.REFUNDED, S.QUEUED, S.NEW]
        Order.objects.bulk_create(
            [Order(ref=f"OC-LIST-{offset + i:07d}", line_type="ADSL", number="036362600", value=Decimal(1000),
                   cost=Decimal(980), status=statuses[i % 5], created_by=user,
                   created_at=now - timedelta(minutes=offset + i)) for i in range(count)],
            batch_size=5000,
        )

    add(1000, 0)
    small_time, small_queries = render_changelist(client)
    add(99000, 1000)
    large_time, large_queries = render_changelist(client)
    return {
        "orders_1k": {"median_ms": round(small_time * 1000, 1), "queries": small_queries},
        "orders_100k": {"median_ms": round(large_time * 1000, 1), "queries": large_queries},
        "time_ratio": round(large_time / small_time, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="a,b,c")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--out", default="orders", help="name of the JSON file under bench/out/")
    args = parser.parse_args()
    with app_on_simulator() as (server, results):
        if "a" in args.only:
            results["a_sync_cycle"] = bench_sync(server)
        if "b" in args.only:
            results["b_bulk_send"] = bench_send(server, args.workers)
    if "c" in args.only:
        results["c_admin_list"] = bench_admin_list()
    write_json(args.out, results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
