"""Load test of the production path: 50 staff sessions entering and following orders.

Starts, for the length of the run:

- the API simulator (in this process, one thread per connection, 3 s to fulfil an order);
- a throw-away PostgreSQL database (``topups_load``: dropped and created, dropped at the end);
- gunicorn serving ``config.wsgi`` with the production settings (``DEBUG=false``, the manifest
  static files collected by ``collectstatic``, the Redis cache);
- two ``manage.py qcluster`` processes on the Redis broker (the database's Redis number is
  flushed first: use one that nothing else uses).

Then N threads (one ``requests.Session`` each, one operator account each) log in and, until the
time is up: open the new-order page, submit an order with the page's ref and CSRF token, open
the order page, poll its status JSON every 3 s (as the page's script does) until it is final,
and open the order page again. The status JSON is polled as the page polls it, with the last
ETag in ``If-None-Match`` (a bodiless 304 while nothing changed). Reported: requests and errors per
kind, p50/p95 page times over the whole run and in the steady state (requests started after every
session has logged in and opened its cash session, so the login burst is on its own row), the
slowest requests, orders created and how they ended, and duplicate sends (the simulator's per-ref
counters).

Then, on the same gunicorn with the load stopped, the throughput (requests per second, by
``--probe-threads`` threads for ``--probe-seconds`` each, in two rounds taken in turn, the better
one kept) of the status JSON answered 304 (what the page's polling costs), of the status JSON
answered in full, and of ``/healthz/`` (a trivial Django view through the same middleware, with the
same session cookie), and their ratios.

Usage: ``python bench/load.py [--seconds 120] [--users 50] [--gunicorn-workers N]``
(``--database-url``, ``--redis-url`` to point elsewhere; ``--profile`` samples the gunicorn
workers with py-spy, when installed, into collapsed stacks in the log folder and a table of the
functions found in most samples). Stops by itself and cleans up its
processes. Prints a table and writes ``bench/out/load.json``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import stop_group  # noqa: E402

KEY = "load-key-0000"
PASSWORD = "load-pass-Qx81"  # noqa: S105 — throw-away accounts in a throw-away database
POLL_SECONDS = 3.0  # what static/topups/dashboard.js does on the order page
FOLLOW_LIMIT = 90.0  # an order not final after this is counted as stuck
ADSL_VALUES = ["ADSL:500", "ADSL:1000", "ADSL:2000"]
FG_VALUES = ["4G:1000", "4G:1500", "4G:2000"]
# gunicorn's access log with the time each request took inside the server (milliseconds).
ACCESS_FORMAT = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(M)s'  # the path without its query, as in production
ACCESS_RE = re.compile(r'^\[([^\]]+)\] "(\w+) (\S+) [^"]*" (\d{3}) (\d+)$')
PAGE_PATH_RE = re.compile(r"^/orders/(new/|\d+/)$")
REF_RE = re.compile(r'name="ref" value="([^"]+)"')
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


# The database and Redis ---------------------------------------------------------------------


def recreate_database(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


# The processes ------------------------------------------------------------------------------


class Processes:
    """Subprocesses in their own process groups, all stopped (group and all) on exit."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[tuple[subprocess.Popen, object]] = []

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "w")
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.started.append((process, log))
        return process

    def stop_all(self) -> None:
        for process, _log in self.started:  # all at once, then wait for each
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process, log in self.started:
            stop_group(process)
            log.close()


def gunicorn_command(*, port: int, workers: int, threads: int, run_dir: Path) -> list[str]:
    """gunicorn as a run starts it, its control socket in the run's own folder: gunicorn 25 and
    later open ``~/.gunicorn/gunicorn.ctl`` by default, so a second gunicorn of the same user on
    this host (the shop's own, or another run) would take that socket over and remove it when it
    stops, leaving the other one uncontrollable (docs/deployment.md, section 6)."""
    return [sys.executable, "-m", "gunicorn", "config.wsgi", "-w", str(workers), "-k", "gthread", "--threads",
            str(threads), "-b", f"127.0.0.1:{port}", "--control-socket", str(run_dir / "gunicorn.ctl"),
            "--access-logfile", "-", "--access-logformat", ACCESS_FORMAT]


def wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


# The staff sessions -----------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.ready: list[float] = []  # when each session had logged in and opened its till
        self.samples: list[tuple[str, float, float, str]] = []  # kind, start, seconds, path
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.orders: list[str] = []
        self.order_urls: list[str] = []
        self.outcomes: dict[str, int] = defaultdict(int)

    def request(self, session: requests.Session, kind: str, method: str, url: str, *, ok=(200,), **kwargs):
        started = time.perf_counter()
        start = time.monotonic() - self.t0
        try:
            response = session.request(method, url, timeout=30, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.errors[kind].append(type(exc).__name__)
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.times[kind].append(elapsed)
            self.samples.append((kind, start, elapsed, urlsplit(url).path))
            if response.status_code not in ok:
                self.errors[kind].append(f"HTTP {response.status_code}")
                return None
        return response


def staff_session(base: str, username: str, deadline: float, rec: Recorder, index: int) -> None:
    session = requests.Session()
    page = rec.request(session, "login page", "GET", base + "/login/")
    if page is None:
        return
    token = CSRF_RE.search(page.text).group(1)
    if rec.request(session, "login", "POST", base + "/login/", ok=(302,),
                   data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}) is None:
        return
    # A cashier opens a cash session before the first sale (TILL_REQUIRED is on in production).
    till = rec.request(session, "till page", "GET", base + "/till/")
    if till is None:
        return
    if 'value="open"' in till.text and rec.request(
            session, "open till", "POST", base + "/till/", ok=(302,),
            data={"action": "open", "opening_cash": "5000", "csrfmiddlewaretoken": CSRF_RE.search(till.text).group(1)},
    ) is None:
        return
    with rec.lock:
        rec.ready.append(time.monotonic() - rec.t0)
    count = 0
    while time.monotonic() < deadline:
        form = rec.request(session, "new order form", "GET", base + "/orders/new/")
        if form is None:
            time.sleep(1)
            continue
        ref, token = REF_RE.search(form.text).group(1), CSRF_RE.search(form.text).group(1)
        line_type = "ADSL" if (index + count) % 2 == 0 else "4G"
        ending = (index * 7 + count) % 90  # 00–89: fulfilled after the simulator's delay
        if line_type == "ADSL":
            number, value = f"036{index:02d}{count % 100:02d}{ending:02d}", ADSL_VALUES[count % 3]
        else:
            number, value = f"21366{index:02d}{count % 1000:03d}{ending:02d}", FG_VALUES[count % 3]
        count += 1
        sent = rec.request(session, "submit order", "POST", base + "/orders/new/", ok=(302,),
                           data={"line_type": line_type, "number": number, "value": value, "ref": ref,
                                 "csrfmiddlewaretoken": token})
        if sent is None:
            continue
        location = sent.headers["Location"]
        order_url = base + location if location.startswith("/") else location
        with rec.lock:
            rec.orders.append(ref)
            rec.order_urls.append(order_url)
        rec.request(session, "order page", "GET", order_url)
        followed_since, status, etag = time.monotonic(), None, ""
        while time.monotonic() - followed_since < FOLLOW_LIMIT:
            time.sleep(POLL_SECONDS)
            answer = rec.request(session, "status json", "GET", order_url + "status.json", ok=(200, 304),
                                 headers={"If-None-Match": etag} if etag else {})
            if answer is None or answer.status_code == 304:
                continue
            etag = answer.headers.get("ETag", "")
            if answer.json()["final"]:
                status = answer.json()["status"]
                break
        with rec.lock:
            rec.outcomes[status or "not final"] += 1
        rec.request(session, "order page (final)", "GET", order_url)


# Throughput of one URL on the same gunicorn ----------------------------------------------------


def logged_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/login/", timeout=30)
    session.post(base + "/login/", data={"username": username, "password": PASSWORD,
                                         "csrfmiddlewaretoken": CSRF_RE.search(page.text).group(1)},
                 allow_redirects=False, timeout=30)
    return session


def throughput(session: requests.Session, url: str, *, threads: int, seconds: float, headers=None,
               ok=(200,)) -> dict:
    """Requests per second answered by ``threads`` clients sharing one session for ``seconds``."""
    counts, errors, lock = [0], [0], threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        mine = requests.Session()
        mine.cookies.update(session.cookies)
        while time.monotonic() < deadline:
            try:
                good = mine.get(url, headers=headers or {}, timeout=30, allow_redirects=False).status_code in ok
            except requests.RequestException:
                good = False
            with lock:
                counts[0] += good
                errors[0] += not good

    workers = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 35)
    wall = time.monotonic() - started
    return {"requests_per_second": round(counts[0] / wall, 1), "requests": counts[0], "errors": errors[0]}


def probe_throughput(base: str, order_url: str, *, threads: int, seconds: float) -> dict:
    """The status JSON (304 as polled, 200 in full) against /healthz/, one session, load stopped."""
    session = logged_in(base, "load00")
    etag = session.get(order_url + "status.json", timeout=30).headers.get("ETag", "")
    probes = {
        "healthz": dict(url=base + "/healthz/"),
        "status json 304": dict(url=order_url + "status.json", headers={"If-None-Match": etag}, ok=(304,)),
        "status json 200": dict(url=order_url + "status.json"),
    }
    # Two rounds, in turn, each kept at its best: a background blip does not decide the ratio.
    runs: dict[str, dict] = {}
    for _round in range(2):
        for name, probe in probes.items():
            run = throughput(session, probe["url"], threads=threads,
                             seconds=seconds / 2, headers=probe.get("headers"), ok=probe.get("ok", (200,)))
            if run["requests_per_second"] > runs.get(name, {}).get("requests_per_second", -1):
                runs[name] = run
    trivial = runs["healthz"]["requests_per_second"] or 1
    for name in ("status json 304", "status json 200"):
        runs[name]["ratio_to_healthz"] = round(runs[name]["requests_per_second"] / trivial, 2)
    return runs


# Profiling the gunicorn workers (py-spy, when installed) ----------------------------------------


def start_profiler(gunicorn: subprocess.Popen, log_dir: Path, seconds: float) -> subprocess.Popen | None:
    import shutil

    spy = shutil.which("py-spy")
    if spy is None:
        print("py-spy not found: no profile", file=sys.stderr)
        return None
    return subprocess.Popen([spy, "record", "--pid", str(gunicorn.pid), "--subprocesses",
                             "--rate", "50", "--duration", str(int(seconds)), "--format", "raw",
                             "--output", str(log_dir / "profile.txt")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def profile_table(path: Path, top: int = 25) -> list[tuple[str, float]]:
    """Share of the samples (collapsed stacks) in which each project or library function appears,
    wherever it is on the stack: where the workers' time goes."""
    if not path.exists():
        return []
    totals: dict[str, int] = defaultdict(int)
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples += int(count)
        seen = set()
        for frame in stack.split(";"):
            name = frame.split(" (")[0] + " (" + frame.split(" (")[-1].split(":")[0].rsplit("/", 2)[-1]
            if name not in seen:
                seen.add(name)
                totals[name] += int(count)
    return [(name, round(100 * n / samples, 1)) for name, n in
            sorted(totals.items(), key=lambda item: -item[1])[:top]] if samples else []


def server_side(log: Path, run_started: float, burst_end: float) -> dict:
    """The same split from gunicorn's own timings (its access log): the time spent inside the
    server, without the load generator's and the kernel's queues."""
    from datetime import datetime

    phases: dict = {"burst": defaultdict(list), "steady": defaultdict(list)}
    for line in log.read_text().splitlines() if log.exists() else []:
        found = ACCESS_RE.match(line)
        if not found:
            continue
        at = datetime.strptime(found.group(1), "%d/%b/%Y:%H:%M:%S %z").timestamp() - run_started
        path, ms = found.group(3).split("?")[0], int(found.group(5))
        kind = "status json" if path.endswith("status.json") else "page" if PAGE_PATH_RE.match(path) else None
        if kind and at >= -1:
            phases["burst" if at < burst_end else "steady"][kind].append(ms / 1000)
    return {phase: {f"{kind.replace(' ', '_')}_p{q}_ms": round(percentile(times, q) * 1000, 1)
                    for kind, times in kinds.items() for q in (50, 95)} for phase, kinds in phases.items()}


def steady_and_burst(rec: Recorder, page_kinds: list[str]) -> dict:
    """Page and status JSON times split at the moment the last session was ready."""
    burst_end = max(rec.ready, default=0.0)
    split: dict = {"burst_end_s": round(burst_end, 1)}
    for phase, keep in (("burst", lambda start: start < burst_end), ("steady", lambda start: start >= burst_end)):
        pages = [t for kind, start, t, _ in rec.samples if kind in page_kinds and keep(start)]
        status = [t for kind, start, t, _ in rec.samples if kind == "status json" and keep(start)]
        split[phase] = {"pages": len(pages), "page_p50_ms": round(percentile(pages, 50) * 1000, 1),
                        "page_p95_ms": round(percentile(pages, 95) * 1000, 1),
                        "status_json_p95_ms": round(percentile(status, 95) * 1000, 1)}
    return split


# The run ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--gunicorn-workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--qclusters", type=int, default=2)
    parser.add_argument("--q-workers", type=int, default=2)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/topups_load")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "load.json")
    parser.add_argument("--probe-seconds", type=float, default=10)
    parser.add_argument("--probe-threads", type=int, default=8)
    parser.add_argument("--profile", action="store_true", help="sample the gunicorn workers with py-spy")
    args = parser.parse_args(argv)

    from topups.simulator.testing import serve_in_thread

    log_dir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    recreate_database(args.database_url)
    flush_redis(args.redis_url)
    processes = Processes(log_dir)
    with serve_in_thread(keys={KEY: {"type": "PRODUCTION"}}, fulfil_after=3.0) as api:
        api.simulator.set_balance(100_000_000)
        port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "HTTPS": "false",  # plain HTTP on the loopback; production sits behind TLS
            "SECRET_KEY": secrets.token_urlsafe(50),
            "CARD_CODE_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "CARD_CODE_SEARCH_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "ONECLICKDZ_API_URL": api.url,
            "ONECLICKDZ_API_KEY": KEY,
            "Q_WORKERS": str(args.q_workers),
            "LOG_LEVEL": "WARNING",
        }
        manage = [sys.executable, "manage.py"]
        for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run(manage + command, cwd=ROOT, env=env, check=True)
        setup = (
            "from django.contrib.auth.models import Group, User\n"
            "from topups.lines.internet import catalog\n"
            "group = Group.objects.get(name='Operators')\n"
            f"for i in range({args.users}):\n"
            f"    user = User.objects.create_user(f'load{{i:02d}}', password='{PASSWORD}')\n"
            "    user.groups.add(group)\n"
            "assert catalog.sync_catalog().ok\n"
        )
        subprocess.run(manage + ["shell", "-c", setup], cwd=ROOT, env=env, check=True)
        try:
            gunicorn = processes.start("gunicorn", gunicorn_command(port=port, workers=args.gunicorn_workers,
                                                                    threads=args.gunicorn_threads, run_dir=log_dir),
                                       env)
            for index in range(args.qclusters):
                processes.start(f"qcluster-{index}", manage + ["qcluster"], env)
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/login/")
            time.sleep(2)  # let the clusters' workers start

            profiler = start_profiler(gunicorn, log_dir, args.seconds) if args.profile else None
            rec = Recorder()
            started, run_started = rec.t0, time.time()
            deadline = started + args.seconds
            threads = [threading.Thread(target=staff_session, args=(base, f"load{i:02d}", deadline, rec, i),
                                        daemon=True) for i in range(args.users)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(args.seconds + FOLLOW_LIMIT + 60)
            wall = time.monotonic() - started
            if profiler is not None:
                profiler.wait(FOLLOW_LIMIT + 60)
            probes = probe_throughput(base, rec.order_urls[0], threads=args.probe_threads,
                                      seconds=args.probe_seconds) if rec.order_urls else {}
        finally:
            processes.stop_all()
        stats = api.simulator.stats()
    recreate_database(args.database_url, drop_only=True)
    flush_redis(args.redis_url)

    # Pages staff open all day; the login (a deliberately slow password hash, once per session)
    # and the status JSON are reported on their own rows.
    page_kinds = [kind for kind in rec.times if kind not in ("status json", "login", "login page", "till page", "open till")]
    page_times = [t for kind in page_kinds for t in rec.times[kind]]
    kinds = {
        kind: {
            "requests": len(times),
            "errors": len(rec.errors.get(kind, [])),
            "p50_ms": round(percentile(times, 50) * 1000, 1),
            "p95_ms": round(percentile(times, 95) * 1000, 1),
            "max_ms": round(max(times) * 1000, 1),
        }
        for kind, times in sorted(rec.times.items())
    }
    errors = {kind: sorted(set(found)) for kind, found in rec.errors.items() if found}
    result = {
        "benchmark": "load",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "seconds": args.seconds,
        "wall_seconds": round(wall, 1),
        "users": args.users,
        "gunicorn": f"{args.gunicorn_workers} workers x {args.gunicorn_threads} threads (gthread)",
        "qclusters": f"{args.qclusters} x {args.q_workers} workers, Redis broker",
        "database": "postgresql",
        "requests": sum(len(t) for t in rec.times.values()),
        "errors": sum(len(e) for e in rec.errors.values()),
        "error_kinds": errors,
        "page_p50_ms": round(percentile(page_times, 50) * 1000, 1),
        "page_p95_ms": round(percentile(page_times, 95) * 1000, 1),
        "pages_per_second": round(len(page_times) / wall, 1),
        "kinds": kinds,
        **steady_and_burst(rec, page_kinds),
        "server_side": server_side(log_dir / "gunicorn.log", run_started, max(rec.ready, default=0.0)),
        "slowest": [{"kind": kind, "at_s": round(start, 1), "ms": round(t * 1000), "path": path}
                    for kind, start, t, path in sorted(rec.samples, key=lambda s: -s[2])[:15]],
        "throughput": probes,
        "profile_top": profile_table(log_dir / "profile.txt"),
        "orders_created": len(rec.orders),
        "order_outcomes": dict(rec.outcomes),
        "api_orders": stats["orders"],
        "max_orders_per_ref": stats["max_orders_per_ref"],
        "duplicate_sends": sum(1 for r in stats["refs"].values() if r["orders"] > 1),
        "api_debited": str(stats["total_debited"] - Decimal(0)),
        "logs": str(log_dir),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    print(f"## Load: {args.users} staff sessions for {args.seconds:.0f} s against gunicorn "
          f"({result['gunicorn']}), PostgreSQL, {result['qclusters']}\n")
    print("| request | count | errors | p50 ms | p95 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for kind, row in kinds.items():
        print(f"| {kind} | {row['requests']} | {row['errors']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |")
    print(f"\nPages (form, submit, order page; not the login or the status JSON): p50 {result['page_p50_ms']} ms, p95 {result['page_p95_ms']} ms. "
          f"Requests {result['requests']}, errors {result['errors']} {errors or ''}.")
    steady, burst = result["steady"], result["burst"]
    print(f"Login burst (first {result['burst_end_s']} s, until every session is ready): pages p95 "
          f"{burst['page_p95_ms']} ms, status JSON p95 {burst['status_json_p95_ms']} ms ({burst['pages']} pages). "
          f"Steady state: pages p50 {steady['page_p50_ms']} ms, p95 {steady['page_p95_ms']} ms, status JSON p95 "
          f"{steady['status_json_p95_ms']} ms ({steady['pages']} pages).")
    inside = result["server_side"]
    print(f"Inside gunicorn (its access log): steady pages p95 {inside.get('steady', {}).get('page_p95_ms')} ms, "
          f"status JSON p95 {inside.get('steady', {}).get('status_json_p95_ms')} ms; burst pages p95 "
          f"{inside.get('burst', {}).get('page_p95_ms')} ms.")
    print("Slowest: " + "; ".join(f"{s['kind']} {s['ms']} ms at {s['at_s']} s" for s in result["slowest"][:8]))
    for name, run in probes.items():
        print(f"Throughput {name}: {run['requests_per_second']} req/s ({run['errors']} errors)"
              + (f", {run['ratio_to_healthz']} x /healthz/" if "ratio_to_healthz" in run else ""))
    for name, share in result["profile_top"]:
        print(f"  profile {share:5.1f} %  {name}")
    print(f"Orders created {result['orders_created']} (API holds {result['api_orders']}), outcomes "
          f"{result['order_outcomes']}; duplicate sends {result['duplicate_sends']} "
          f"(max orders per ref {result['max_orders_per_ref']}). Logs in {log_dir}")
    print(f"Wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    ok = result["errors"] == 0 and result["duplicate_sends"] == 0 and result["orders_created"] == result["api_orders"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
