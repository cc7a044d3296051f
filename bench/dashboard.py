"""Benchmark of the staff dashboard's pages: server time and query count, with many orders.

Builds a throw-away SQLite database (migrations + N orders by bulk_create), logs a supervisor in
with Django's test client, and times each page. What matters most is that the query counts do not
grow with the number of orders: the list is paged without COUNT(*), the status endpoint reads one
row, the home page aggregates today's orders in one query.

Usage: ``python bench/dashboard.py [--orders 100000] [--repeat 20]``.
Prints a markdown table and writes ``bench/out/dashboard.json``. No API call is made.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from decimal import Decimal

from common import cleanup, measure_page, migrate, setup, staff_user, write_json

TMP = setup("bench-dashboard", fresh_database=True)  # 100,000 orders: never on a shared database

from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from topups.models import Order, OrderStatus, Product  # noqa: E402

STATUSES = [OrderStatus.FULFILLED] * 8 + [OrderStatus.REFUNDED, OrderStatus.QUEUED, OrderStatus.HANDLING]


def build(n: int):
    migrate()
    user = staff_user(group="Supervisors")
    Product.objects.bulk_create([Product(line_type="ADSL", value=v, cost=v * Decimal("0.98")) for v in (500, 1000, 2000)])
    now = timezone.now()
    batch = []
    for i in range(n):
        status = STATUSES[i % len(STATUSES)]
        batch.append(Order(
            ref=f"OC-BENCH-{i:08d}", line_type="ADSL", number=f"0363{i % 100000:05d}", value=Decimal(1000),
            cost=Decimal(980), status=status, created_by=user, created_at=now - timedelta(seconds=30 * i),
            card_code=f"{i:012d}" if status == OrderStatus.FULFILLED else "", num_trans=f"AT-{i}",
            topup_id=f"t{i}",
        ))
        if len(batch) == 5000:
            Order.objects.bulk_create(batch)
            batch = []
    Order.objects.bulk_create(batch)
    return user


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    setup_test_environment()
    started = time.perf_counter()
    user = build(args.orders)
    build_s = time.perf_counter() - started
    client = Client()
    client.force_login(user)
    sample = Order.objects.filter(status=OrderStatus.FULFILLED).order_by("pk").values_list("pk", flat=True)[500]
    live = list(Order.objects.filter(status=OrderStatus.HANDLING).values_list("pk", flat=True)[:20])
    pages = [
        ("home", "/", {}),
        ("orders list, page 1", "/orders/", {}),
        ("orders list, page 200", "/orders/?page=200", {}),
        ("orders list, search by number", "/orders/?q=036300042", {}),
        ("orders list, status + dates", f"/orders/?status=fulfilled&date_from={timezone.localdate() - timedelta(days=3)}", {}),
        ("order page", f"/orders/{sample}/", {}),
        ("status endpoint", f"/orders/{sample}/status.json", {}),
        ("statuses of 20 rows", "/orders/status.json?" + "&".join(f"id={pk}" for pk in live), {}),
        ("receipt", f"/orders/{sample}/receipt/", {}),
        ("new order form", "/orders/new/", {}),
    ]
    results = [{"page": name, **measure_page(client, url, args.repeat)} for name, url, _ in pages]
    export = {"page": f"CSV export of all {args.orders} orders", **measure_page(client, "/orders/export.csv", 1)}
    results.append(export)
    print(f"{args.orders} orders built in {build_s:.1f} s; {args.repeat} requests per page (CSV: 1)\n")
    print("| page | median ms | max ms | queries |")
    print("|---|---:|---:|---:|")
    for r in results:
        print(f"| {r['page']} | {r['median_ms']} | {r['max_ms']} | {r['queries']} |")
    write_json("dashboard", {"orders": args.orders, "results": results})
    cleanup(TMP)


if __name__ == "__main__":
    main()
