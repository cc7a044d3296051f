"""Benchmark of the OneClickDZ client against the in-process simulator (no Django needed).

1. Per-call overhead: ``OneClickClient.<endpoint>()`` versus a bare ``requests.Session().get`` of
   the same URL with the same header, in the same run, the same number of calls each, in
   alternating rounds so drift (CPU boost, GC, the simulator's state) hits both alike. Medians
   are compared; the aim is a ratio of at most 1.2.
2. Simulator throughput: N threads, each with its own client, calling the endpoint for a while.
   Clients and simulator share one process (and its GIL), so this is a floor, not a ceiling.

Usage: ``python bench/client.py [--calls 2000] [--threads 8] [--seconds 5] [--endpoint balance]``.
Prints a markdown table and writes ``bench/out/client.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import threading
import time
from pathlib import Path

from common import ROOT, on_path

on_path()

import requests  # noqa: E402

from topups.oneclick import MemoryKeyGuard, OneClickClient  # noqa: E402
from topups.simulator.testing import serve_in_thread  # noqa: E402

KEY = "bench-key-0000-0000"
TIMEOUT = (5.0, 20.0)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure_overhead(api_url: str, endpoint: str, calls: int, round_size: int) -> dict:
    client = OneClickClient(api_url, KEY, key_guard=MemoryKeyGuard())
    bare = requests.Session()
    headers = {"X-Access-Token": KEY}
    if endpoint == "check_id":
        topup_id = client.send_topup(line_type="ADSL", number="036362608", value=1000, ref="bench-1").topup_id
        path = f"/internet/check-id/{topup_id}"

        def client_call() -> object:
            return client.check_id(topup_id)
    else:
        path = "/account/balance"

        def client_call() -> object:
            return client.balance()

    url = api_url + path

    def bare_call() -> object:
        return bare.get(url, headers=headers, timeout=TIMEOUT)

    for _ in range(200):  # warm up both connections and code paths
        client_call()
        bare_call()

    client_times: list[float] = []
    bare_times: list[float] = []
    clock = time.perf_counter_ns
    gc_was_enabled = gc.isenabled()
    gc.disable()  # collections would land on whichever side happens to trigger them
    try:
        done = 0
        flip = False
        while done < calls:
            size = min(round_size, calls - done)
            order = [(bare_call, bare_times), (client_call, client_times)]
            if flip:
                order.reverse()
            for call, sink in order:
                for _ in range(size):
                    started = clock()
                    call()
                    sink.append((clock() - started) / 1000)  # microseconds
            done += size
            flip = not flip
            gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    client.close()
    bare.close()
    client_median = statistics.median(client_times)
    bare_median = statistics.median(bare_times)
    return {
        "endpoint": endpoint,
        "calls_each": calls,
        "round_size": round_size,
        "client_median_us": round(client_median, 1),
        "bare_median_us": round(bare_median, 1),
        "client_p95_us": round(percentile(client_times, 0.95), 1),
        "bare_p95_us": round(percentile(bare_times, 0.95), 1),
        "overhead_us": round(client_median - bare_median, 1),
        "ratio": round(client_median / bare_median, 3),
        "target_ratio": 1.2,
    }


def measure_throughput(api_url: str, endpoint: str, threads: int, seconds: float) -> dict:
    stop = threading.Event()
    start_gate = threading.Barrier(threads + 1)
    counts = [0] * threads
    errors = [0] * threads
    latencies: list[list[float]] = [[] for _ in range(threads)]

    def worker(index: int) -> None:
        client = OneClickClient(api_url, KEY, key_guard=MemoryKeyGuard())
        call = client.balance if endpoint == "balance" else client.ping
        call()  # connect before the clock starts
        start_gate.wait()
        sink = latencies[index]
        while not stop.is_set():
            started = time.perf_counter()
            try:
                call()
                counts[index] += 1
            except Exception:
                errors[index] += 1
            sink.append((time.perf_counter() - started) * 1000)
        client.close()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in workers:
        thread.start()
    start_gate.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    all_latencies = [value for sink in latencies for value in sink]
    return {
        "endpoint": "balance" if endpoint == "balance" else "ping",
        "threads": threads,
        "seconds": round(elapsed, 2),
        "requests": sum(counts),
        "errors": sum(errors),
        "requests_per_second": round(sum(counts) / elapsed, 1),
        "latency_p50_ms": round(percentile(all_latencies, 0.5), 2) if all_latencies else None,
        "latency_p95_ms": round(percentile(all_latencies, 0.95), 2) if all_latencies else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per side for the overhead test")
    parser.add_argument("--round-size", type=int, default=100, help="calls per side before switching")
    parser.add_argument("--endpoint", choices=("balance", "check_id"), default="balance")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of the throughput test")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "client.json")
    args = parser.parse_args(argv)

    with serve_in_thread(keys={KEY: {"type": "SANDBOX", "scope": "READ-WRITE", "allowed_ips": []}}) as api:
        overhead = measure_overhead(api.url, args.endpoint, args.calls, args.round_size)
        throughput = measure_throughput(api.url, "balance", args.threads, args.seconds)

    result = {
        "benchmark": "oneclick-client",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "requests": requests.__version__,
        "overhead": overhead,
        "throughput": throughput,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    o, t = overhead, throughput
    verdict = "ok" if o["ratio"] <= o["target_ratio"] else "ABOVE TARGET"
    print(
        f"## OneClickClient vs bare requests ({o['endpoint']}, {o['calls_each']} calls each, alternating rounds)\n"
    )
    print("| measure | client | bare requests |")
    print("| --- | ---: | ---: |")
    print(f"| median per call (µs) | {o['client_median_us']} | {o['bare_median_us']} |")
    print(f"| p95 per call (µs) | {o['client_p95_us']} | {o['bare_p95_us']} |")
    print(f"| ratio of medians (target ≤ {o['target_ratio']}) | {o['ratio']}x ({verdict}) | 1.0x |")
    print(
        f"\n## Simulator throughput ({t['threads']} concurrent clients, {t['endpoint']}, {t['seconds']} s)\n"
    )
    print("| requests | errors | requests/s | p50 (ms) | p95 (ms) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {t['requests']} | {t['errors']} | {t['requests_per_second']} | {t['latency_p50_ms']} | {t['latency_p95_ms']} |"
    )
    print(f"\nWrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
