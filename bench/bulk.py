"""Benchmarks of bulk orders, against the in-process simulator.

(a) Preview of a 5,000-row file versus a 500-row file: time and DB queries of the service
    (``preview_batch``) and of the whole page flow (upload POST, then the preview page GET).
    The query count must be the same for both sizes.
(b) A confirmed 1,000-row batch sent through a real qcluster with the simulator at 50 ms latency:
    wall time from the confirm to the last order leaving NEW/SENDING, versus the ideal
    1,000 × 50 ms ÷ workers for one API call per order, and for the two calls each first send
    makes (the number check, then the POST).

Usage: python bench/bulk.py [--only a,b] [--workers 4]. Uses a fresh SQLite file (or DATABASE_URL
if set). Prints JSON and writes bench/out/bulk.json.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from decimal import Decimal

from common import app_on_simulator, send_through_cluster, setup, staff_user, write_json

setup("bench-bulk")

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from topups.lines.internet import catalog  # noqa: E402
from topups.models import ApiAccount, Batch, Order, OrderStatus  # noqa: E402
from topups.services import batches  # noqa: E402
from topups.services.account import current_fingerprint  # noqa: E402
from topups.services.actors import Actor  # noqa: E402

S = OrderStatus


def make_file(rows: int, offset: int = 0) -> bytes:
    lines = ["type;number;value;ref;note"]
    for index in range(rows):
        line_type, number, value = ("4G", f"2136659{offset + index:05d}", "1500") if index % 3 == 0 else \
            ("ADSL", f"036{offset + index:06d}", "500")
        lines.append(f"{line_type};{number};{value};;client {index} — société")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def prepare(server) -> None:
    server.simulator.reset()
    server.simulator.set_balance(100_000_000)
    catalog.sync_catalog()
    ApiAccount.objects.filter(key_fingerprint=current_fingerprint()).update(balance=Decimal(100_000_000))


def bench_preview(rounds: int = 5) -> dict:
    user = staff_user(superuser=True)
    actor = Actor.user(user)
    client = Client()
    client.force_login(user)
    figures = {}
    # Orders already in the database, so that the "same number in the last 24 h" check has work to do.
    batches.confirm_batch(batch_id=batches.preview_batch(file_name="seed.csv", data=make_file(2000, 50_000),
                                                         actor=actor).pk, actor=actor)
    for rows in (500, 5000):
        data = make_file(rows)
        service_times, page_times = [], []
        for _ in range(rounds):
            with CaptureQueriesContext(connection) as service_queries:
                started = time.perf_counter()
                batches.preview_batch(file_name="bench.csv", data=data, actor=actor)
                service_times.append(time.perf_counter() - started)
            upload = io.BytesIO(data)
            upload.name = "bench.csv"
            with CaptureQueriesContext(connection) as page_queries:
                started = time.perf_counter()
                response = client.post("/batches/new/", {"file": upload})
                page = client.get(response["Location"])
                page_times.append(time.perf_counter() - started)
            assert page.status_code == 200
        batch = Batch.objects.order_by("-id").first()
        assert batch.row_count == rows and batch.valid_count == rows, (batch.row_count, batch.valid_count)
        figures[f"rows_{rows}"] = {
            "file_kb": len(data) // 1024,
            "service_median_s": round(statistics.median(service_times), 3),
            "service_queries": len(service_queries.captured_queries),
            "upload_and_page_median_s": round(statistics.median(page_times), 3),
            "upload_and_page_queries": len(page_queries.captured_queries),
        }
    return figures


def bench_send(server, workers: int, rows: int = 1000) -> dict:
    from django_q.models import OrmQ

    sim = server.simulator
    Order.objects.all().delete()
    Batch.objects.all().delete()
    OrmQ.objects.all().delete()
    actor = Actor.user(staff_user(superuser=True))
    lines = ["type,number,value"] + [f"ADSL,0364{i:03d}{i % 90:02d},500" for i in range(rows)]
    batch = batches.preview_batch(file_name="send.csv", data="\n".join(lines).encode(), actor=actor)
    assert batch.valid_count == rows
    created = []
    sent = send_through_cluster(server, workers, lambda: created.append(
        batches.confirm_batch(batch_id=batch.pk, actor=actor).created), orders=rows)
    assert created == [rows]
    return {
        "orders": rows,
        "confirm_seconds": sent.pop("start_seconds"),
        "orders_per_second": round(rows / sent["wall_seconds"], 1),
        "api_calls_during_send": sent.pop("api_calls"),
        **sent,
        "sent": Order.objects.exclude(status__in=[S.NEW, S.SENDING, S.REFUSED]).count(),
        "max_orders_per_ref": sim.stats()["max_orders_per_ref"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="a,b")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with app_on_simulator() as (server, results):
        prepare(server)
        if "a" in args.only:
            results["a_preview"] = bench_preview()
        if "b" in args.only:
            results["b_batch_send"] = bench_send(server, args.workers)
    write_json("bulk", results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
