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
import os
import platform
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="bench-bulk-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{TMP / 'bench.sqlite3'}")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
os.environ["Q_SYNC"] = "false"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.processes import database_url, start_qcluster, stop_group  # noqa: E402
from topups.models import ApiAccount, Batch, Order, OrderStatus  # noqa: E402
from topups.oneclick.simulator.testing import serve_in_thread  # noqa: E402
from topups.services import account, batches, catalog  # noqa: E402
from topups.services.account import current_fingerprint  # noqa: E402
from topups.services.actors import Actor  # noqa: E402

S = OrderStatus
KEY = settings.ONECLICKDZ_API_KEY


def make_file(rows: int, offset: int = 0) -> bytes:
    lines = ["type;number;value;ref;note"]
    for index in range(rows):
        line_type, number, value = ("4G", f"2136659{offset + index:05d}", "1500") if index % 3 == 0 else \
            ("ADSL", f"036{offset + index:06d}", "500")
        lines.append(f"{line_type};{number};{value};;client {index} — société")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def prepare(server) -> None:
    settings.ONECLICKDZ_API_URL = server.url
    account._client.cache_clear()
    server.simulator.reset()
    server.simulator.set_balance(100_000_000)
    catalog.sync_catalog()
    ApiAccount.objects.filter(key_fingerprint=current_fingerprint()).update(balance=Decimal(100_000_000))


def bench_preview(rounds: int = 5) -> dict:
    user = get_user_model().objects.get(username="bench")
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
    user = get_user_model().objects.get(username="bench")
    actor = Actor.user(user)
    lines = ["type,number,value"] + [f"ADSL,0364{i:03d}{i % 90:02d},500" for i in range(rows)]
    batch = batches.preview_batch(file_name="send.csv", data="\n".join(lines).encode(), actor=actor)
    assert batch.valid_count == rows
    sim.configure(latency_ms=50)
    cluster = start_qcluster(database_url=database_url(connection.settings_dict), api_url=server.url,
                             workers=workers)
    try:
        time.sleep(3)  # let the workers start: measure sending, not process start-up
        calls_before = sum(sim.stats()["calls"].values())
        started = time.perf_counter()
        result = batches.confirm_batch(batch_id=batch.pk, actor=actor)
        confirm_seconds = time.perf_counter() - started
        assert result.created == rows
        while Order.objects.filter(status__in=[S.NEW, S.SENDING]).exists():
            if time.perf_counter() - started > 600:
                raise RuntimeError("bulk send did not finish in 10 minutes")
            time.sleep(0.1)
        wall = time.perf_counter() - started
        calls = sum(sim.stats()["calls"].values()) - calls_before
    finally:
        stop_group(cluster)
    sim.configure(latency_ms=0)
    ideal_one_call = rows * 0.050 / workers
    return {
        "orders": rows,
        "workers": workers,
        "confirm_seconds": round(confirm_seconds, 3),
        "wall_seconds": round(wall, 2),
        "orders_per_second": round(rows / wall, 1),
        "api_calls_during_send": calls,
        "ideal_seconds_one_call": ideal_one_call,
        "ideal_seconds_two_calls": 2 * ideal_one_call,
        "ratio_vs_one_call": round(wall / ideal_one_call, 2),
        "ratio_vs_two_calls": round(wall / (2 * ideal_one_call), 2),
        "sent": Order.objects.exclude(status__in=[S.NEW, S.SENDING, S.REFUSED]).count(),
        "max_orders_per_ref": sim.stats()["max_orders_per_ref"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="a,b")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    User = get_user_model()
    User.objects.filter(username="bench").exists() or User.objects.create_superuser("bench", password="bench-pw-1")
    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                          f"Python {platform.python_version()}, {connection.vendor}"}
    with serve_in_thread(keys={KEY: {"type": "SANDBOX"}}) as server:
        prepare(server)
        if "a" in args.only:
            results["a_preview"] = bench_preview()
        if "b" in args.only:
            results["b_batch_send"] = bench_send(server, args.workers)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bulk.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
