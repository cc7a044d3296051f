"""The set-up every benchmark shares: the project on the path, a throw-away database, Django
configured, the app pointed at an in-process simulator, a staff login, a real qcluster sending
orders, and the JSON written under bench/out/.

Usage, at the top of a script, before any Django import::

    from common import setup
    TMP = setup("bench-name")              # test settings, a fresh SQLite file, tasks on a cluster
    TMP = setup("bench-name", sync=True)   # tasks run inline in the calling process

A benchmark without Django (bench/client.py) only calls ``on_path()``.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def on_path() -> None:
    """The project importable (``topups``, ``tests``) from a script run as ``python bench/x.py``."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def setup(name: str, *, settings_module: str = "config.settings_test", sync: bool = False,
          fresh_database: bool = False) -> Path:
    """Configure Django for a benchmark and return its temporary folder.

    DATABASE_URL is kept when set (to measure on PostgreSQL), else (or with ``fresh_database``)
    a fresh SQLite file in that folder is used. The test settings are the production ones with
    throw-away secrets and plain static files (no collectstatic needed).
    """
    on_path()
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    sqlite = f"sqlite:///{tmp / 'bench.sqlite3'}"
    if fresh_database:
        os.environ["DATABASE_URL"] = sqlite
    else:
        os.environ.setdefault("DATABASE_URL", sqlite)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ["Q_SYNC"] = "true" if sync else "false"
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # django.test.Client's host
    return tmp


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def cleanup(tmp: Path) -> None:
    """Close the connection and remove the benchmark's folder (its SQLite file)."""
    from django.db import connection

    connection.close()
    shutil.rmtree(tmp, ignore_errors=True)


def machine() -> str:
    """The machine and database the figures were measured on."""
    from django.db import connection

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {connection.vendor}")


def staff_user(username: str = "bench", *, group: str | None = None, superuser: bool = False):
    """A login for the benchmark (created once): a superuser, or a member of ``group``."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        make = User.objects.create_superuser if superuser else User.objects.create_user
        user = make(username, password=f"{username}-password", is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def point_app_at(server) -> None:
    """Send the app's API calls to a running simulator (topups.simulator.testing)."""
    from django.conf import settings

    from topups.services import account

    settings.ONECLICKDZ_API_URL = server.url
    account.reset_client()


@contextmanager
def app_on_simulator(key: str | None = None):
    """The database migrated, the benchmark's superuser ("bench"), an in-process simulator that
    knows the app's key, and the app pointed at it: yields the server and the results dict with
    the machine's description."""
    from django.conf import settings

    from topups.simulator.testing import serve_in_thread

    migrate()
    staff_user(superuser=True)
    with serve_in_thread(keys={key or settings.ONECLICKDZ_API_KEY: {"type": "SANDBOX"}}) as server:
        point_app_at(server)
        yield server, {"machine": machine()}


def clean_slate(server, *, queue: bool = False) -> None:
    """A simulator with no orders and a balance for any run, no order in the app (and, with
    ``queue``, no task waiting in django-q2's ORM queue)."""
    from topups.models import Order

    server.simulator.reset()
    server.simulator.set_balance(10_000_000)
    Order.objects.all().delete()
    if queue:
        from django_q.models import OrmQ

        OrmQ.objects.all().delete()


def sync_cycle(server, *, now, batch: int) -> dict:
    """One sync cycle over every order made due again (as HANDLING): the orders it settled, its
    API calls (in all and per endpoint), its queries and its time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from topups.models import Order, OrderStatus
    from topups.services import sync

    sim = server.simulator
    Order.objects.update(status=OrderStatus.HANDLING, next_check_at=now, card_code="")
    before = dict(sim.stats()["calls"])
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        report = sync.sync_due_orders(batch_size=batch)
        elapsed = time.perf_counter() - started
    calls = {k: v - before.get(k, 0) for k, v in sim.stats()["calls"].items() if v != before.get(k, 0)}
    return {"orders_settled": report.changed, "api_calls": sum(calls.values()), "calls": calls,
            "db_queries": len(queries.captured_queries), "seconds": round(elapsed, 3)}


def send_through_cluster(server, workers: int, start: Callable[[], object], *, orders: int,
                         latency: float = 0.050, timeout: float = 600) -> dict:
    """Start a real qcluster on this database and the simulator (answering after ``latency``
    seconds), call ``start`` (which creates or requests the sends of ``orders`` orders), and wait
    until no order is NEW or SENDING. Returns the time ``start`` took, the wall time from its call
    to the last order leaving, the API calls made meanwhile, and the wall time against the ideal
    for one and for two API calls per order (a first send checks the number, then POSTs)."""
    from django.db import connection

    from tests.processes import database_url, start_qcluster, stop_group
    from topups.models import Order, OrderStatus

    sim = server.simulator
    sim.configure(latency_ms=int(latency * 1000))
    cluster = start_qcluster(database_url=database_url(connection.settings_dict), api_url=server.url,
                             workers=workers)
    try:
        time.sleep(3)  # let the workers start: measure sending, not process start-up
        calls_before = sum(sim.stats()["calls"].values())
        started = time.perf_counter()
        start()
        start_seconds = time.perf_counter() - started
        while Order.objects.filter(status__in=[OrderStatus.NEW, OrderStatus.SENDING]).exists():
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"sending did not finish in {timeout:.0f} s")
            time.sleep(0.1)
        wall = time.perf_counter() - started
        calls = sum(sim.stats()["calls"].values()) - calls_before
    finally:
        stop_group(cluster)
        sim.configure(latency_ms=0)
    ideal = orders * latency / workers
    return {"start_seconds": round(start_seconds, 3), "wall_seconds": round(wall, 2), "api_calls": calls,
            "workers": workers, "ideal_seconds_one_call": ideal, "ideal_seconds_two_calls": 2 * ideal,
            "ratio_vs_one_call": round(wall / ideal, 2), "ratio_vs_two_calls": round(wall / (2 * ideal), 2)}


def write_json(name: str, data: dict) -> Path:
    import json

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def measure_page(client, url: str, repeat: int, *, warm: bool = False) -> dict:
    """Time ``repeat`` GETs of a dashboard page with Django's test client (a streamed answer is
    read to the end): median and max server time, the queries of one request, the bytes.
    ``warm``: one request first, untimed (the session and the permissions get cached)."""
    import statistics
    import time

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if warm:
        client.get(url)
    times, queries, size = [], 0, 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url)
            size = (sum(len(chunk) for chunk in response.streaming_content) if response.streaming
                    else len(response.content))
            times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(ctx.captured_queries)
    return {"url": url, "median_ms": round(1000 * statistics.median(times), 2),
            "max_ms": round(1000 * max(times), 2), "queries": queries, "bytes": size}
