"""Gift cards against internet cards, in one run, against the in-process simulator at 50 ms latency:
sends per second through a real qcluster, and API calls per order from the send until the order is
final (the send's calls, then the status sync's).

A gift-card send is two calls (checkProduct for price and stock, then placeOrder), like an internet
card's first send (number check, then the POST). Gift-card orders of the same product, type and
quantity are sent one at a time (the one-in-flight rule that keeps a lost answer's match
unambiguous): the run uses the seven kinds below, cycling, so that rule's cost shows too.

Usage: python bench/giftcards.py [--orders 200] [--workers 4]. Uses a fresh SQLite file (or
DATABASE_URL if set). Writes bench/out/giftcards.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from decimal import Decimal

from common import app_on_simulator, clean_slate, send_through_cluster, setup, staff_user, write_json

setup("bench-giftcards")

from django.utils import timezone  # noqa: E402

from topups.lines.giftcards import catalog as gift_catalog  # noqa: E402
from topups.lines.internet import catalog  # noqa: E402
from topups.models import FINAL_STATUSES, GiftType, Order  # noqa: E402
from topups.services import orders, sync  # noqa: E402
from topups.services.actors import Actor  # noqa: E402

PSN, GOOGLE_PLAY, NETFLIX = "507f1f77bcf86cd799439011", "507f1f77bcf86cd799439012", "507f1f77bcf86cd799439013"
KINDS = [(PSN, "type_001", 1), (PSN, "type_001", 2), (PSN, "type_002", 1), (GOOGLE_PLAY, "gp_1000", 1),
         (NETFLIX, "nf_1m", 1), (PSN, "TEST_PARTIAL", 2), (PSN, "TEST_REFUND", 1)]


def place_internet(actor: Actor, count: int) -> None:
    for index in range(count):
        orders.create_order(line_type="ADSL", number=f"0364{index:03d}{index % 90:02d}", value=Decimal(500),
                            actor=actor)


def place_gift(actor: Actor, count: int, sim) -> None:
    for product, type_id, _quantity in KINDS:
        if not type_id.startswith("TEST_"):
            sim.set_gift_stock(product, type_id, 10_000)
    assert gift_catalog.sync_catalog().ok
    for product in (PSN, GOOGLE_PLAY, NETFLIX):
        gift_catalog.check_types(product)
    psn = GiftType.objects.get(type_id="type_001").product
    for selector in ("TEST_PARTIAL", "TEST_REFUND"):
        GiftType.objects.get_or_create(product=psn, type_id=selector, defaults={"name": selector, "price": 490})
    for index in range(count):
        product, type_id, quantity = KINDS[index % len(KINDS)]
        orders.create_order(service="giftcard", plan_code=f"{product}:{type_id}", number=str(quantity), value=None,
                            actor=actor)


def follow_until_final(sim, timeout: float = 120) -> dict:
    """The sync's cycles, run here, until every order is final: their API calls and rounds."""
    before = dict(sim.stats()["calls"])
    rounds, started = 0, time.perf_counter()
    sim.advance(10)  # every order has settled at the API
    while Order.objects.exclude(status__in=FINAL_STATUSES).exists() and time.perf_counter() - started < timeout:
        Order.objects.exclude(status__in=FINAL_STATUSES).update(next_check_at=timezone.now())
        sync.sync_due_orders()
        rounds += 1
    calls = {k: v - before.get(k, 0) for k, v in sim.stats()["calls"].items() if v != before.get(k, 0)}
    return {"rounds": rounds, "calls": calls, "api_calls": sum(calls.values()),
            "not_final": Order.objects.exclude(status__in=FINAL_STATUSES).count()}


def bench_line(server, name: str, count: int, workers: int, place) -> dict:
    sim = server.simulator
    clean_slate(server, queue=True)
    catalog.sync_catalog()
    actor = Actor.user(staff_user(superuser=True))
    place(actor)
    calls_before = dict(sim.stats()["calls"])
    sent = send_through_cluster(server, workers, lambda: orders.request_send(Order.objects.all(), actor=actor),
                                orders=count)
    send_calls = {k: v - calls_before.get(k, 0) for k, v in sim.stats()["calls"].items()
                  if v != calls_before.get(k, 0)}
    follow = follow_until_final(sim)
    statuses = dict(Counter(Order.objects.values_list("status", flat=True)))
    return {
        "line": name, "orders": count, "workers": workers, "wall_seconds": sent["wall_seconds"],
        "sends_per_second": round(count / sent["wall_seconds"], 1),
        "send_calls": send_calls, "send_calls_per_order": round(sum(send_calls.values()) / count, 2),
        "follow": follow, "follow_calls_per_order": round(follow["api_calls"] / count, 2),
        "calls_per_order": round((sum(send_calls.values()) + follow["api_calls"]) / count, 2),
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with app_on_simulator() as (server, results):
        results["internet"] = bench_line(server, "internet", args.orders, args.workers,
                                         lambda actor: place_internet(actor, args.orders))
        results["giftcards"] = bench_line(server, "giftcards", args.orders, args.workers,
                                          lambda actor: place_gift(actor, args.orders, server.simulator))
    write_json("giftcards", results)
    print(json.dumps(results, indent=2))
    print("\n| line | orders | sends/s | calls per order (send + follow) |\n| --- | --- | --- | --- |")
    for name in ("internet", "giftcards"):
        row = results[name]
        print(f"| {name} | {row['orders']} | {row['sends_per_second']} | {row['calls_per_order']} "
              f"({row['send_calls_per_order']} + {row['follow_calls_per_order']}) |")


if __name__ == "__main__":
    main()
