"""Run every benchmark of bench/ and write bench/RESULTS.md: one table of figures, each as a ratio
against its baseline, and the machine they were measured on.

Each benchmark runs in its own process (they configure Django differently) and writes its JSON
under bench/out/; this script then reads those files. ``make bench`` runs it.

Usage: python bench/run_all.py [--skip load,bulk] [--load-seconds 120] [--report-only]
(--report-only rewrites RESULTS.md from the JSON already in bench/out/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS.md"


BENCH_PG = "postgres://postgres@127.0.0.1:5432/topups_bench"


def benchmarks(load_seconds: float) -> dict[str, list[str]]:
    return {
        "client": ["bench/client.py"],
        "orders": ["bench/orders.py"],
        # The sync cycle again on PostgreSQL, where bulk statements are not split by SQLite's
        # 999-variable cap: its query count per cycle must not move with the batch size.
        "orders_pg": ["bench/orders.py", "--only", "a", "--out", "orders_pg"],
        "dashboard": ["bench/dashboard.py"],
        "bulk": ["bench/bulk.py"],
        "ledger": ["bench/ledger.py"],
        "books": ["bench/books.py"],
        "mobile": ["bench/mobile.py"],
        "giftcards": ["bench/giftcards.py", "--orders", "200", "--workers", "4"],
        "load": ["bench/load.py", "--seconds", str(load_seconds)],
    }


def read(name: str) -> dict | None:
    path = OUT / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def previous_runs() -> dict[str, str]:
    """The "Runs" lines of the current RESULTS.md, kept when only the report is rewritten."""
    if not RESULTS.exists():
        return {}
    runs = {}
    for line in RESULTS.read_text().splitlines():
        if line.startswith("- `") and "`: " in line:
            name, _, text = line[3:].partition("`: ")
            runs[name] = text
    return runs


def fresh_postgres_database(url: str) -> bool:
    """Drop and create the database of ``url``; False when PostgreSQL cannot be reached."""
    try:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception:
        return False
    return True


# The machine --------------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    postgres = "not reachable"
    try:
        import psycopg

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", connect_timeout=3) as conn:
            postgres = conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:  # the table says so; the SQLite benchmarks still ran
        postgres = f"not reachable ({type(exc).__name__})"
    redis_version = "?"
    try:
        import redis

        redis_version = redis.Redis.from_url("redis://127.0.0.1:6379/0").info("server")["redis_version"]
    except Exception as exc:
        redis_version = f"not reachable ({type(exc).__name__})"
    return [
        f"CPU: {cpu}, {os.cpu_count()} cores visible; memory {memory}",
        f"OS: {platform.platform()}",
        f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; PostgreSQL {postgres}; "
        f"Redis {redis_version}",
    ]


# The table ----------------------------------------------------------------------------------


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}" if baseline else "—"


def rows() -> list[tuple[str, str, str, str, str]]:
    """(benchmark, figure, baseline, ratio, aim) for every figure found in bench/out/."""
    table = []
    client = read("client")
    if client:
        o, t = client["overhead"], client["throughput"]
        table.append(("client.py: call overhead", f"client median {o['client_median_us']} µs/call",
                      f"bare requests {o['bare_median_us']} µs", f"{o['ratio']:.2f}", f"≤ {o['target_ratio']}"))
        table.append(("client.py: simulator throughput", f"{t['requests_per_second']} req/s, p95 "
                      f"{t['latency_p95_ms']} ms ({t['threads']} threads, {t['errors']} errors)", "—", "—",
                      "0 errors"))
    orders = read("orders")
    if orders:
        a = orders.get("a_sync_cycle")
        vendor = orders.get("machine", "").rsplit(", ", 1)[-1]
        if a:
            # On SQLite, Django splits bulk_update/bulk_create into more statements (999 variables
            # per statement), so the count steps up with the batch; on PostgreSQL it is flat.
            table.append((f"orders.py (a): sync cycle, DB queries ({vendor})", f"{a['500']['db_queries']} queries for 500 orders",
                          f"{a['100']['db_queries']} for 100", ratio(a["500"]["db_queries"], a["100"]["db_queries"]),
                          "1.00 (constant per batch)"))
            table.append(("orders.py (a): sync cycle, API calls", f"{a['500']['api_calls']} calls for 500 orders",
                          "500 (one check per order)", ratio(a["500"]["api_calls"], 500), "≪ 1 (list walk)"))
        b = orders.get("b_bulk_send")
        if b:
            figure = f"{b['wall_seconds']} s ({b['workers']} workers; max orders/ref {b['max_orders_per_ref']})"
            table.append(("orders.py (b): 1,000 sends, qcluster, 50 ms API", figure,
                          f"ideal {b['ideal_seconds_one_call']:.1f} s (1,000 × 50 ms ÷ {b['workers']} workers)",
                          f"{b['ratio_vs_one_call']:.2f}", "≤ 1.5"))
            table.append(("orders.py (b): the same, against 2 calls per order", figure,
                          f"ideal {2 * b['ideal_seconds_one_call']:.1f} s (number check + POST per order)",
                          f"{b['ratio_vs_two_calls']:.2f}", "≤ 1 (threads per worker may beat it)"))
        c = orders.get("c_admin_list")
        if c:
            table.append(("orders.py (c): admin order list", f"{c['orders_100k']['median_ms']} ms, "
                          f"{c['orders_100k']['queries']} queries at 100k orders",
                          f"{c['orders_1k']['median_ms']} ms, {c['orders_1k']['queries']} queries at 1k",
                          f"{c['time_ratio']:.2f}", "≈ 1 (no growth with orders)"))
    orders_pg = read("orders_pg")
    if orders_pg and orders_pg.get("a_sync_cycle"):
        a = orders_pg["a_sync_cycle"]
        table.append(("orders.py (a): sync cycle, DB queries (postgresql)",
                      f"{a['500']['db_queries']} queries for 500 orders", f"{a['100']['db_queries']} for 100",
                      ratio(a["500"]["db_queries"], a["100"]["db_queries"]), "1.00 (constant per batch)"))
    dashboard = read("dashboard")
    if dashboard:
        pages = {r["page"]: r for r in dashboard["results"]}
        first, deep = pages.get("orders list, page 1"), pages.get("orders list, page 200")
        if first and deep:
            table.append((f"dashboard.py: orders list, {dashboard['orders']:,} orders",
                          f"page 200: {deep['median_ms']} ms, {deep['queries']} queries",
                          f"page 1: {first['median_ms']} ms, {first['queries']} queries",
                          ratio(deep["median_ms"], first["median_ms"]), "≈ 1 (paged without COUNT)"))
        slowest = max((r for r in dashboard["results"] if not r["page"].startswith("CSV")),
                      key=lambda r: r["median_ms"])
        table.append((f"dashboard.py: slowest page, {dashboard['orders']:,} orders",
                      f"{slowest['page']}: {slowest['median_ms']} ms, {slowest['queries']} queries",
                      "100 ms page budget", ratio(slowest["median_ms"], 100), "< 1"))
    mobile = read("mobile")
    if mobile:
        a, b = mobile.get("a_sync_cycle"), mobile.get("b_mixed_send")
        vendor = mobile.get("machine", "").rsplit(", ", 1)[-1]
        if a:
            table.append((f"mobile.py (a): sync cycle, half mobile, DB queries ({vendor})",
                          f"{a['500']['db_queries']} queries for 500 orders", f"{a['100']['db_queries']} for 100",
                          ratio(a["500"]["db_queries"], a["100"]["db_queries"]), "1.00 (constant per batch)"))
            table.append(("mobile.py (a): sync cycle, half mobile, API calls",
                          f"{a['500']['api_calls']} calls for 500 orders ({a['500']['calls']})",
                          "500 (one check per order)", ratio(a["500"]["api_calls"], 500), "≪ 1 (a list walk per service)"))
        if b:
            table.append(("mobile.py (b): 1,000 sends, half mobile, qcluster, 50 ms API",
                          f"{b['wall_seconds']} s ({b['workers']} workers; max orders/ref {b['max_orders_per_ref']})",
                          f"ideal {b['ideal_seconds_mixed']:.2f} s (1.5 calls per order × 50 ms ÷ {b['workers']} "
                          "workers)", f"{b['ratio_vs_mixed']:.2f}", "≤ 1.5"))
    books = read("books")
    if books:
        pages = {r["page"]: r for r in books["results"]}
        month, year = pages.get("report, a month per day"), pages.get("report, the year per day")
        if month and year:
            table.append((f"books.py: a month's report, {books['orders']:,} orders over a year",
                          f"{month['median_ms']} ms, {month['queries']} queries (the year: {year['median_ms']} ms, "
                          f"{year['queries']} queries)", "200 ms (the aim)", ratio(month["median_ms"], 200),
                          "< 1; the same queries for a month or a year"))
        close = pages.get("close page (the cashier's open session)")
        if close:
            table.append((f"books.py: close page, {books['orders']:,} orders", f"{close['median_ms']} ms, "
                          f"{close['queries']} queries", "100 ms page budget", ratio(close["median_ms"], 100), "< 1"))
    bulk = read("bulk")
    if bulk:
        preview = bulk.get("a_preview") or {}
        small, large = preview.get("rows_500"), preview.get("rows_5000")
        if small and large:
            table.append(("bulk.py (a): preview of a 5,000-row file", f"{large['service_median_s']} s, "
                          f"{large['service_queries']} queries (500 rows: {small['service_median_s']} s, "
                          f"{small['service_queries']} queries)", "2 s (the aim)",
                          ratio(large["service_median_s"], 2), "< 1; same queries at any size"))
        send = bulk.get("b_batch_send")
        if send:
            figure = (f"{send['wall_seconds']} s ({send['workers']} workers; "
                      f"max orders/ref {send['max_orders_per_ref']})")
            table.append(("bulk.py (b): 1,000-row batch, qcluster, 50 ms API", figure,
                          f"ideal {send['ideal_seconds_two_calls'] / 2:.1f} s (1,000 × 50 ms ÷ {send['workers']} "
                          "workers)", f"{2 * send['ratio_vs_two_calls']:.2f}", "≤ 1.5"))
            table.append(("bulk.py (b): the same, against 2 calls per order", figure,
                          f"ideal {send['ideal_seconds_two_calls']:.1f} s (number check + POST per order)",
                          f"{send['ratio_vs_two_calls']:.2f}", "≤ 1 (threads per worker may beat it)"))
    table += ledger_rows(read("ledger"))
    gifts = read("giftcards")
    if gifts:
        internet, gift = gifts["internet"], gifts["giftcards"]
        table.append((f"giftcards.py: {gift['orders']} gift-card sends, qcluster (4 workers), 50 ms API",
                      f"{gift['sends_per_second']} sends/s (seven kinds, one of a kind in flight)",
                      f"internet cards, same run: {internet['sends_per_second']} sends/s",
                      ratio(gift["sends_per_second"], internet["sends_per_second"]), "(reported: the one-in-flight rule's cost)"))
        table.append(("giftcards.py: API calls per gift-card order (send + follow)",
                      f"{gift['calls_per_order']} ({gift['send_calls_per_order']} + {gift['follow_calls_per_order']})",
                      f"internet cards: {internet['calls_per_order']}", ratio(gift["calls_per_order"],
                                                                                internet["calls_per_order"]), "≈ 1"))
    load = read("load")
    if load:
        table.append((f"load.py: {load['users']} staff sessions, {load['seconds']:.0f} s, gunicorn + PostgreSQL "
                      "+ Redis + 2 qclusters",
                      f"page p95 {load['page_p95_ms']} ms (p50 {load['page_p50_ms']}); {load['requests']} requests, "
                      f"{load['errors']} errors; {load['orders_created']} orders, {load['duplicate_sends']} "
                      "duplicate sends",
                      "1,000 ms (the aim for p95)", ratio(load["page_p95_ms"], 1000),
                      "< 1; 0 errors; 0 duplicates"))
        if load.get("steady"):
            table.append(("load.py: the same, steady state (after every session logged in and opened its till)",
                          f"page p95 {load['steady']['page_p95_ms']} ms (inside gunicorn "
                          f"{load.get('server_side', {}).get('steady', {}).get('page_p95_ms')} ms), status JSON p95 "
                          f"{load['steady']['status_json_p95_ms']} ms",
                          "300 ms (the aim for p95)", ratio(load["steady"]["page_p95_ms"], 300), "≤ 1"))
        probes = load.get("throughput") or {}
        if probes.get("status json 304"):
            table.append(("load.py: status JSON throughput against /healthz/ (same gunicorn, load stopped)",
                          f"{probes['status json 304']['requests_per_second']} req/s answered 304, "
                          f"{probes['status json 200']['requests_per_second']} in full; /healthz/ "
                          f"{probes['healthz']['requests_per_second']}",
                          "a trivial view", f"{probes['status json 304']['ratio_to_healthz']:.2f}", "(reported)"))
    return table


def ledger_rows(ledger: dict | None) -> list[tuple[str, str, str, str, str]]:
    """bench/ledger.py: sync and match of 100,000 ledger rows against 10,000, and the day's page."""
    if not ledger:
        return []
    small, large, day = ledger["small"], ledger["large"], ledger["day_page"]
    where = ledger["machine"].rsplit(", ", 1)[-1]
    return [
        (f"ledger.py: sync of {large['rows']:,} ledger rows ({where})",
         f"{large['sync']['queries_per_page']} queries/page, {large['sync']['api_calls']} API calls, "
         f"{large['sync']['wall_seconds']} s",
         f"{small['sync']['queries_per_page']} queries/page at {small['rows']:,} rows",
         ratio(large["sync"]["queries_per_page"], small["sync"]["queries_per_page"]), "≈ 1 (constant per page)"),
        (f"ledger.py: matching of {large['rows']:,} rows ({where})",
         f"{large['match']['queries_per_chunk']} queries per {large['match']['rows_per_chunk']:,} rows, "
         f"{large['match']['wall_seconds']} s, {large['match']['flags']} flags",
         f"{small['match']['queries_per_chunk']} at {small['rows']:,} rows",
         ratio(large["match"]["queries_per_chunk"], small["match"]["queries_per_chunk"]), "≤ 1 (constant per chunk)"),
        (f"ledger.py: reconciliation page, a day of {day['orders']:,} orders ({day['ledger_rows']:,} rows)",
         f"{day['page_ms_median']} ms, {day['page_queries']} queries", "100 ms page budget",
         ratio(day["page_ms_median"], 100), "< 1"),
    ]


def write_results(ran: dict[str, str]) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Generated by `make bench` (`bench/run_all.py`) on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        "Each figure is shown against its baseline as a ratio (figure ÷ baseline); the aim says what the ratio "
        "should be. Raw figures: `bench/out/*.json`.",
        "",
        "## Machine",
        "",
        *[f"- {line}" for line in machine()],
        "",
        "## Figures",
        "",
        "| benchmark | figure | baseline | ratio | aim |",
        "| --- | --- | --- | ---: | --- |",
        *[f"| {' | '.join(row)} |" for row in rows()],
        "",
        "## Runs",
        "",
        *[f"- `{name}`: {outcome}" for name, outcome in ran.items()],
        "",
        "`orders.py`, `dashboard.py` and `bulk.py` use a fresh SQLite file (the embedded default) and the "
        "ORM broker; `load.py` uses the production path: gunicorn, PostgreSQL, the Redis broker and two "
        "qclusters (see docs/deployment.md).",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip", default="",
                        help="comma-separated names: client,orders,dashboard,bulk,ledger,books,mobile,giftcards,load")
    parser.add_argument("--load-seconds", type=float, default=120)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    skip = {name for name in args.skip.split(",") if name}
    ran: dict[str, str] = {}
    failed = False
    previous = previous_runs()
    for name, command in benchmarks(args.load_seconds).items():
        if args.report_only or name in skip:
            ran[name] = previous.get(name, "not run this time (figures from bench/out/ if present)")
            continue
        if not (ROOT / command[0]).exists():
            ran[name] = f"{command[0]} is missing"
            continue
        print(f"== {' '.join(command)}", flush=True)
        started = time.monotonic()
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        if name == "orders_pg":
            if not fresh_postgres_database(BENCH_PG):
                ran[name] = "skipped: PostgreSQL not reachable"
                continue
            env["DATABASE_URL"] = BENCH_PG
        done = subprocess.run([sys.executable, *command], cwd=ROOT, env=env)
        seconds = time.monotonic() - started
        ran[name] = f"`{' '.join(command)}` exit {done.returncode} in {seconds:.0f} s"
        failed |= done.returncode != 0
    write_results(ran)
    print(RESULTS.read_text())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
