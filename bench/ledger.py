"""Reconciliation with the provider's ledger at scale.

1. Sync and match of ``--rows`` ledger rows (default 100,000) served by the in-process simulator
   over HTTP: API calls, database queries per page of rows (must not grow) and wall time. The
   orders behind the debits are inserted directly (as sending them would have left them), so the
   figures are the ledger's own.
2. The reconciliation page for a day of ``--day-orders`` orders (default 5,000): queries and time.

Usage: ``python bench/ledger.py [--rows 100000] [--day-orders 5000]``; DATABASE_URL picks the
database (a fresh SQLite file otherwise). Writes bench/out/ledger.json.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

from common import machine, measure_page, migrate, point_app_at, setup, staff_user, write_json

TMP = setup("bench-ledger", sync=True)

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from topups.models import LedgerCursor, LedgerFlag, LedgerRow, Order, OrderStatus  # noqa: E402
from topups.services import ledger, reconcile  # noqa: E402
from topups.simulator.testing import serve_in_thread  # noqa: E402

KEY = "bench-key"
DEBIT_SHARE, REFUND_SHARE = 0.6, 0.1  # the rest: deposits, transfers, withdrawals, unknown types


def fill(sim, rows: int) -> int:
    """``rows`` ledger rows in the simulator, with the matching orders in our database. Returns the
    number of orders."""
    sim.set_balance(Decimal(10) ** 10)
    debits = int(rows * DEBIT_SHARE)
    refunds = int(rows * REFUND_SHARE)
    others = rows - debits - refunds - 1  # set_balance wrote one DEPOSIT
    orders = []
    for index in range(debits):
        placed = sim.place_elsewhere(number="036362600", value=1000, ref=f"BENCH-{index:07d}")
        refunded = index < refunds
        if refunded:
            sim.refund_topup(placed["ref"])
        orders.append(Order(ref=placed["ref"], line_type="ADSL", number="036362600", value=1000,
                            cost=placed["cost"], status=OrderStatus.REFUNDED if refunded else OrderStatus.FULFILLED,
                            topup_id=placed["_id"], sent_at=timezone.now(), send_attempts=1))
    # Movements that are no order's (a FLEXY row with no order of ours is a debit without order: a flag).
    kinds = ["DEPOSIT", "SEND", "WITHDRAW", "CASHBACK"]
    for index in range(others):
        sim.add_ledger_row(type=kinds[index % len(kinds)], amount=10 + index % 7)
    Order.objects.bulk_create(orders, batch_size=2000)
    _analyze()
    return len(orders)


def _analyze() -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would gather soon after: without
    them PostgreSQL believes the tables empty and scans 60,000 orders for every chunk's lookup of
    1,000 top-up ids (measured: 2.7 s a chunk instead of milliseconds)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE topups_order")
            cursor.execute("ANALYZE topups_ledgerrow")


def clear(sim) -> None:
    LedgerFlag.objects.all().delete()
    LedgerRow.objects.all().delete()
    LedgerCursor.objects.all().delete()
    Order.objects.all().delete()
    cache.delete(ledger.SYNC_LOCK)
    sim.reset()


def sync_and_match(sim, rows: int) -> dict:
    clear(sim)
    started = time.perf_counter()
    orders = fill(sim, rows)
    fill_seconds = time.perf_counter() - started
    calls_before = sim.stats()["calls"].get("transactions", 0)
    with CaptureQueriesContext(connection) as synced:
        started = time.perf_counter()
        report = ledger.sync_ledger(backfill_days=1)
        sync_seconds = time.perf_counter() - started
    _analyze()
    assert report.complete and LedgerRow.objects.count() == rows, (report, LedgerRow.objects.count())
    calls = sim.stats()["calls"]["transactions"] - calls_before
    inserts = [q for q in synced.captured_queries if "topups_ledgerrow" in q["sql"] and "INSERT" in q["sql"]]
    with CaptureQueriesContext(connection) as matched:
        started = time.perf_counter()
        match = reconcile.match_ledger()
        match_seconds = time.perf_counter() - started
    assert match.rows == rows and LedgerFlag.objects.count() == 0, (match, LedgerFlag.objects.count())
    chunks = -(-rows // reconcile.CHUNK)
    return {
        "rows": rows, "orders": orders, "fill_seconds": round(fill_seconds, 1),
        "sync": {"api_calls": calls, "pages": report.pages, "queries": len(synced),
                 "queries_per_page": round(len(synced) / report.pages, 2),
                 "insert_queries_per_page": round(len(inserts) / report.pages, 2),
                 "wall_seconds": round(sync_seconds, 1), "rows_per_second": round(rows / sync_seconds)},
        "match": {"queries": len(matched), "chunks_of_rows": chunks,
                  "queries_per_chunk": round(len(matched) / chunks, 2), "rows_per_chunk": reconcile.CHUNK,
                  "matched": match.matched, "recorded": match.recorded, "flags": match.flags,
                  "wall_seconds": round(match_seconds, 1), "rows_per_second": round(rows / match_seconds)},
    }


def day_page(sim, day_orders: int, repeats: int = 5) -> dict:
    clear(sim)
    orders = fill(sim, int(day_orders / DEBIT_SHARE))
    ledger.sync_ledger(backfill_days=1)
    reconcile.match_ledger()
    sim.place_elsewhere(number="036999901", value=500)  # one flag to show
    reconcile.run()
    client = Client()
    client.force_login(staff_user("bench-supervisor", group="Supervisors"))
    assert client.get("/ledger/").context["summary"].difference is not None  # the page compares balances
    page = measure_page(client, "/ledger/", repeats)
    export = measure_page(client, "/ledger/export.csv", 1)
    return {"orders": orders, "ledger_rows": LedgerRow.objects.count(), "page_queries": page["queries"],
            "page_ms_median": page["median_ms"], "page_ms_max": page["max_ms"],
            "export_rows": LedgerRow.objects.count(), "export_bytes": export["bytes"],
            "export_seconds": round(export["median_ms"] / 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--day-orders", type=int, default=5000)
    args = parser.parse_args()
    setup_test_environment()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    migrate()
    settings.ONECLICKDZ_API_KEY = KEY
    settings.LEDGER_GRACE_SECONDS = 0
    with serve_in_thread(keys={KEY: {"type": "SANDBOX"}}, fulfil_after=3600) as server:
        point_app_at(server)
        sim = server.simulator
        result = {"machine": machine()}
        # The same figures for a tenth of the rows: what stays constant per page must not move.
        result["small"] = sync_and_match(sim, max(args.rows // 10, 1000))
        result["large"] = sync_and_match(sim, args.rows)
        small, large = result["small"], result["large"]
        result["marginal"] = {
            "sync_queries_per_page": round((large["sync"]["queries"] - small["sync"]["queries"])
                                           / (large["sync"]["pages"] - small["sync"]["pages"]), 2),
            "match_queries_per_chunk": round((large["match"]["queries"] - small["match"]["queries"])
                                             / (large["match"]["chunks_of_rows"] - small["match"]["chunks_of_rows"]), 2),
        }
        result["day_page"] = day_page(sim, args.day_orders)
    path = write_json("ledger", result)
    print(result)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
