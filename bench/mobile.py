"""Benchmarks of mobile top-ups ("flexy") on a mixed load with internet cards, against the
in-process simulator: the same figures as bench/orders.py's (a) and (b).

(a) One status-sync cycle over 2,000 pending orders, half internet and half mobile: API calls and
    DB queries per cycle for batches of 100 and 500 (queries constant per batch; one list walk per
    service instead of a check per order).
(b) 1,000 sends (half mobile) through a real qcluster with the simulator at 50 ms latency: wall time
    against the ideal 1,000 × 50 ms ÷ workers (a mobile send is one call: no number check).

Usage: python bench/mobile.py [--only a,b] [--workers 4]. Uses a fresh SQLite file (or DATABASE_URL
if set). Writes bench/out/mobile.json.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
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

setup("bench-mobile")

from django.utils import timezone  # noqa: E402

from topups.lines.internet import catalog  # noqa: E402
from topups.lines.mobile import plans as mobile  # noqa: E402
from topups.models import Order, OrderStatus  # noqa: E402
from topups.services import account, orders  # noqa: E402
from topups.services.actors import Actor  # noqa: E402

S = OrderStatus
MOBILE_PLANS = [("PREPAID_DJEZZY", "07", 1000), ("PREPAID_MOBILIS", "06", 500), ("PREPAID_OOREDOO", "05", 2000)]


def mobile_number(prefix: str, index: int) -> str:
    # Endings 0000001-0000004 pick refunds and uncertain outcomes: keep clear of them.
    return f"{prefix}{12_000_000 + index:08d}"


def bench_sync(server) -> dict:
    sim = server.simulator
    clean_slate(server)
    client = account.get_client()
    now = timezone.now()
    rows = []
    for index in range(2000):
        ref = f"OC-MIX-{index:05d}"
        if index % 2:
            plan, prefix, amount = MOBILE_PLANS[index % 3]
            number = mobile_number(prefix, index)
            result = client.send_mobile(plan_code=plan, number=number, amount=amount, ref=ref)
            rows.append(Order(ref=ref, service="mobile", plan_code=plan, number=number, value=Decimal(amount),
                              status=S.HANDLING, topup_id=result.topup_id, sent_at=now, next_check_at=now))
        else:
            result = client.send_topup(line_type="ADSL", number=f"0363{index:05d}"[:7] + f"{index % 90:02d}",
                                       value=Decimal(500), ref=ref)
            rows.append(Order(ref=ref, line_type="ADSL", number="036362600", value=Decimal(500), cost=Decimal(490),
                              status=S.HANDLING, topup_id=result.topup_id, sent_at=now, next_check_at=now))
    Order.objects.bulk_create(rows, batch_size=1000)
    sim.advance(10)  # all settled at the API
    return {batch: sync_cycle(server, now=now, batch=batch) for batch in (100, 500)}


def bench_send(server, workers: int) -> dict:
    sim = server.simulator
    clean_slate(server, queue=True)
    catalog.sync_catalog()
    mobile.sync_plans()
    actor = Actor.user(staff_user(superuser=True))
    for index in range(1000):
        if index % 2:
            plan, prefix, amount = MOBILE_PLANS[index % 3]
            orders.create_order(service="mobile", plan_code=plan, number=mobile_number(prefix, index),
                                value=Decimal(amount), actor=actor)
        else:
            orders.create_order(line_type="ADSL", number=f"0364{index:03d}{index % 90:02d}", value=Decimal(500),
                                actor=actor)
    sent = send_through_cluster(server, workers, lambda: orders.request_send(Order.objects.all(), actor=actor),
                                orders=1000)
    stats = sim.stats()
    # The ideal for this mix: a mobile send is one call, an internet first send two (check + POST).
    ideal_mixed = 1000 * 1.5 * 0.050 / workers
    return {
        "enqueue_seconds": sent.pop("start_seconds"),
        **sent,
        "ideal_seconds_mixed": ideal_mixed,
        "ratio_vs_mixed": round(sent["wall_seconds"] / ideal_mixed, 2),
        "statuses": dict(Counter(Order.objects.values_list("status", flat=True))),
        "api_orders": stats["orders"],
        "max_orders_per_ref": stats["max_orders_per_ref"],
        "calls": stats["calls"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="a,b")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with app_on_simulator() as (server, results):
        if "a" in args.only:
            results["a_sync_cycle"] = bench_sync(server)
        if "b" in args.only:
            results["b_mixed_send"] = bench_send(server, args.workers)
    write_json("mobile", results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
