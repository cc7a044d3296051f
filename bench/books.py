"""Benchmark of the books' pages: the reports and the cash-session (close) pages with 100,000
orders spread over a year, three cashiers with one session a day each.

What matters: a month's report is aggregated in the database (one query per table or chart,
whatever the number of orders) and answers well under 200 ms; the same report over the whole year
costs the same number of queries; the close page of a day's session reads its own orders only.

Usage: ``python bench/books.py [--orders 100000] [--repeat 10] [--postgres]``. By default a fresh
SQLite file; with ``--postgres``, DATABASE_URL (a database of your own: its orders and sessions are
deleted first). Prints a markdown table and writes ``bench/out/books.json``. No API call is made.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from decimal import Decimal

from common import cleanup, machine, measure_page, migrate, setup, staff_user, write_json

POSTGRES = "--postgres" in sys.argv
TMP = setup("bench-books", fresh_database=not POSTGRES)

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from topups.models import (  # noqa: E402
    HANDED_BACK_STATUSES,
    AuditEvent,
    HandBack,
    Order,
    OrderEvent,
    OrderStatus,
    PriceRule,
    Product,
    Till,
    TillStatus,
)

S = OrderStatus
STATUSES = [S.FULFILLED] * 8 + [S.REFUNDED, S.REFUSED, S.QUEUED]
VALUES = [Decimal(500), Decimal(1000), Decimal(2000)]


def build(n: int):
    migrate()
    if POSTGRES:
        HandBack.objects.all().delete()
        OrderEvent.objects.all().delete()
        Order.objects.all().delete()
        Till.objects.all().delete()
        AuditEvent.objects.all().delete()
    boss = staff_user("boss", group="Supervisors")
    cashiers = [staff_user(f"cashier{i}", group="Operators") for i in range(3)]
    Product.objects.all().delete()
    Product.objects.bulk_create([Product(line_type="ADSL", value=v, cost=v * Decimal("0.98")) for v in VALUES])
    PriceRule.objects.get_or_create(line_type="", value=0, defaults={"mode": "margin", "amount": Decimal(20)})
    now = timezone.now()
    days = 365
    # One session a day per cashier; the last day's stay open (the close page's case).
    tills = {}
    for day in range(days):
        for c, cashier in enumerate(cashiers):
            opened = now - timedelta(days=day, hours=8)
            tills[(day, c)] = Till(cashier=cashier, opened_at=opened, opening_cash=Decimal(5000),
                                   status=TillStatus.OPEN if day == 0 else TillStatus.APPROVED)
    Till.objects.bulk_create(list(tills.values()), batch_size=2000)
    batch = []
    step = days * 86400 / n
    for i in range(n):
        seconds = i * step
        day, c = int(seconds // 86400), i % 3
        value = VALUES[i % 3]
        batch.append(Order(
            ref=f"OC-BOOKS-{i:08d}", line_type="ADSL", number=f"0363{i % 100000:05d}", value=value,
            cost=value * Decimal("0.98"), price=value * Decimal("0.98") + 20, status=STATUSES[i % len(STATUSES)],
            created_by=cashiers[c], till=tills[(day, c)], created_at=now - timedelta(seconds=seconds),
        ))
        if len(batch) == 5000:
            Order.objects.bulk_create(batch)
            batch = []
    Order.objects.bulk_create(batch)
    # The money handed back, booked in the session of the sale (as the status door books a refund
    # that comes while its session is open).
    back = Order.objects.filter(status__in=HANDED_BACK_STATUSES).values_list("pk", "till_id", "price", "status",
                                                                            "created_at")
    HandBack.objects.bulk_create([HandBack(order_id=pk, origin_till_id=till, till_id=till, amount=price, status=status,
                                           actor_label="bench", created_at=at, booked_at=at)
                                  for pk, till, price, status, at in back.iterator()], batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE topups_order")
    return boss, cashiers[0], tills[(0, 0)], tills[(1, 0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    setup_test_environment()
    started = time.perf_counter()
    boss, cashier, open_till, closed_till = build(args.orders)
    build_s = time.perf_counter() - started
    today = timezone.localdate()
    month = f"start={today - timedelta(days=30)}&end={today}"
    year = f"start={today - timedelta(days=364)}&end={today}"
    supervisor, clerk = Client(), Client()
    supervisor.force_login(boss)
    clerk.force_login(cashier)
    pages = [
        (supervisor, "report, a month per day", f"/reports/?{month}&group=day"),
        (supervisor, "report, a month per cashier", f"/reports/?{month}&group=cashier"),
        (supervisor, "report, a month per product", f"/reports/?{month}&group=product"),
        (supervisor, "report, a month per line type", f"/reports/?{month}&group=line_type"),
        (supervisor, "report, the year per day", f"/reports/?{year}&group=day"),
        (supervisor, "report export, a month per day (CSV)", f"/reports/?{month}&group=day&format=csv"),
        (supervisor, "report export, the year per product (XLSX)", f"/reports/?{year}&group=product&format=xlsx"),
        (clerk, "close page (the cashier's open session)", "/till/"),
        (supervisor, "a closed session (A4)", f"/tills/{closed_till.pk}/"),
        (supervisor, "a closed session (80 mm)", f"/tills/{closed_till.pk}/?paper=80"),
        (supervisor, "sessions list", "/tills/"),
    ]
    results = [{"page": name, **measure_page(client, url, args.repeat, warm=True)} for client, name, url in pages]
    per_session = Order.objects.filter(till=open_till).count()
    print(f"{args.orders} orders over 365 days, {Till.objects.count()} sessions ({per_session} orders in the "
          f"open one), built in {build_s:.1f} s on {connection.vendor}; {args.repeat} requests per page\n")
    print("| page | median ms | max ms | queries |")
    print("|---|---:|---:|---:|")
    for r in results:
        print(f"| {r['page']} | {r['median_ms']} | {r['max_ms']} | {r['queries']} |")
    write_json("books" if not POSTGRES else "books-postgres",
               {"orders": args.orders, "database": connection.vendor, "machine": machine(), "results": results})
    cleanup(TMP)


if __name__ == "__main__":
    main()
