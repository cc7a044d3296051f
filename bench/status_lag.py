"""Status lag and API calls per order, with a real qcluster and the simulator fulfilling at 2 s.

Steady orders (one every --every seconds for --seconds) are sent through a real qcluster; the
sweeper chain follows them. Measured, in one run:

- status lag: from the moment the API fulfils an order (its acceptance, recorded as the
  SENDING→HANDLING event, plus the simulator's 2 s) to the FULFILLED event in our history:
  median, p95, longest;
- the longest time any tracked order stayed overdue (sampled every 0.2 s): the longest gap
  between sync cycles while work was due;
- API calls per order over its whole life (until every order is final), fault-free, then with
  the chaos test's fault mix (tests/cluster/test_chaos.py) on every order endpoint.

The cluster reuses a number check as production does (ONECLICKDZ_NUMBER_CHECK_REUSE_SECONDS).

Usage: python bench/status_lag.py [--seconds 120] [--chaos-seconds S] [--every 1.0] [--workers 4].
Prints the figures and writes bench/out/status_lag.json.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from decimal import Decimal

from common import machine, migrate, point_app_at, setup, staff_user, write_json

setup("bench-status-lag")  # DATABASE_URL when set (PostgreSQL), else a fresh SQLite file

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Min  # noqa: E402
from django.utils import timezone  # noqa: E402

from tests.cluster.test_chaos import CHECK_FAULTS, LOOKUP_FAULTS, READ_FAULTS, SEND_FAULTS  # noqa: E402
from tests.processes import database_url, start_qcluster, stop_group  # noqa: E402
from topups.lines.internet import catalog  # noqa: E402
from topups.models import FINAL_STATUSES, TRACKED_STATUSES, Order, OrderEvent, OrderStatus  # noqa: E402
from topups.services import account, orders  # noqa: E402
from topups.services.actors import Actor  # noqa: E402
from topups.simulator.testing import serve_in_thread  # noqa: E402

S = OrderStatus
FULFIL_AFTER = 2.0
PRODUCTION_REUSE = 600  # config/settings.py's ONECLICKDZ_NUMBER_CHECK_REUSE_SECONDS


def run(server, *, seconds: float, every: float, workers: int, faults: bool) -> dict:
    sim = server.simulator
    sim.reset()
    sim.configure(fulfil_after=FULFIL_AFTER)
    sim.set_balance(100_000_000)  # ten minutes of orders never run out of balance
    if faults:
        sim.set_fault_mix("send", SEND_FAULTS, seed=1000, hang_seconds=2.5)
        sim.set_fault_mix("check-number", CHECK_FAULTS, seed=1001)
        for seed, endpoint in enumerate(("check-id", "check-ref", "list"), start=1002):
            sim.set_fault_mix(endpoint, LOOKUP_FAULTS if endpoint != "list" else READ_FAULTS, seed=seed,
                              hang_seconds=2.5)
    OrderEvent.objects.all().delete()
    Order.objects.all().delete()
    account.reset_client()
    cache.clear()  # this run's own number checks: none reused from the run before (same lines)
    assert catalog.sync_catalog().ok
    account.refresh_account()
    calls_before = sum(sim.stats()["calls"].values())
    actor = Actor.user(staff_user(superuser=True))
    cluster = start_qcluster(database_url=database_url(connection.settings_dict), api_url=server.url, workers=workers,
                             extra_env={"ONECLICKDZ_NUMBER_CHECK_REUSE_SECONDS": PRODUCTION_REUSE})
    overdue_max, stop = [0.0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            oldest = Order.objects.filter(status__in=TRACKED_STATUSES).aggregate(m=Min("next_check_at"))["m"]
            if oldest is not None:
                overdue_max[0] = max(overdue_max[0], (timezone.now() - oldest).total_seconds())
            time.sleep(0.2)
        connection.close()

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        time.sleep(3)  # the workers start
        sampler.start()
        started, index = time.monotonic(), 0
        while time.monotonic() - started < seconds:
            number = "0363" + f"{index % 100000:05d}"
            if number.endswith(("90", "91", "92", "93")):  # lines the simulator refunds or queues
                number = number[:-2] + "00"
            orders.create_order(line_type="ADSL", number=number, value=Decimal(500), actor=actor, send=True)
            index += 1
            time.sleep(max(0.0, started + index * every - time.monotonic()))
        deadline = time.monotonic() + 300
        while Order.objects.exclude(status__in=FINAL_STATUSES).exclude(status=S.ATTENTION).exists():
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        stop.set()
        sampler.join(5)
        stop_group(cluster)
    accepted = dict(OrderEvent.objects.filter(to_status=S.HANDLING, from_status__in=[S.SENDING, S.UNKNOWN])
                    .order_by("order_id", "created_at").values_list("order_id", "created_at"))
    fulfilled = dict(OrderEvent.objects.filter(to_status=S.FULFILLED).values_list("order_id", "created_at"))
    lags = sorted((fulfilled[pk] - accepted[pk]).total_seconds() - FULFIL_AFTER
                  for pk in fulfilled if pk in accepted)
    calls = sum(sim.stats()["calls"].values()) - calls_before
    total = Order.objects.count()
    by_endpoint = {k: v for k, v in sim.stats()["calls"].items() if v}
    return {
        "faults": faults, "orders": total, "fulfilled": len(fulfilled),
        "lag_median_s": round(statistics.median(lags), 2) if lags else None,
        "lag_p95_s": round(lags[int(0.95 * (len(lags) - 1))], 2) if lags else None,
        "lag_max_s": round(lags[-1], 2) if lags else None,
        "longest_overdue_s": round(overdue_max[0], 2),
        "api_calls": calls, "api_calls_per_order": round(calls / total, 2) if total else None,
        "calls_by_endpoint": by_endpoint,
        "not_final": Order.objects.exclude(status__in=FINAL_STATUSES).count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--chaos-seconds", type=float, default=None, help="length of the run with faults "
                        "(default: --seconds)")
    parser.add_argument("--every", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-faults", action="store_true", help="skip the run with faults")
    options = parser.parse_args()
    migrate()
    results = {"machine": machine(), "fulfil_after_s": FULFIL_AFTER, "runs": []}
    with serve_in_thread(keys={account.settings.ONECLICKDZ_API_KEY: {"type": "SANDBOX", "scope": "READ-WRITE",
                                                                      "allowed_ips": []}}) as server:
        point_app_at(server)
        for faults in ([False] if options.no_faults else [False, True]):
            seconds = options.chaos_seconds if faults and options.chaos_seconds else options.seconds
            result = run(server, seconds=seconds, every=options.every, workers=options.workers, faults=faults)
            results["runs"].append(result)
            print(result, flush=True)
    print(write_json("status_lag", results))


if __name__ == "__main__":
    main()
