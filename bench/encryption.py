"""Benchmark of card-code encryption at rest: the order page and a 5,000-row CSV export with codes
stored in clear and encrypted, in one run, on the same database and rows.

"clear" replaces the field's encrypt/decrypt with the identity (the code as it was stored before
encryption); "encrypted" is the shipped field (Fernet through MultiFernet). Also times encrypting
the 5,000 stored codes, as the migration does.

Usage: ``[DATABASE_URL=postgres://...] python bench/encryption.py [--orders 5000] [--repeat 50]``.
Prints a markdown table and writes ``bench/out/encryption.json``. No API call is made.
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from common import cleanup, migrate, setup, staff_user, write_json

TMP = setup("bench-encryption")  # production settings, throw-away secrets

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

import topups.models  # noqa: E402
from topups.models import Order, OrderStatus  # noqa: E402


@contextmanager
def clear_storage():
    """The field without encryption: codes stored and read as they are."""
    saved = topups.models.encrypt_code, topups.models.decrypt_code
    topups.models.encrypt_code = topups.models.decrypt_code = lambda value: value
    try:
        yield
    finally:
        topups.models.encrypt_code, topups.models.decrypt_code = saved


def build(n: int):
    migrate()
    Order.objects.all().delete()
    user = staff_user(f"bench-{time.time_ns()}", group="Supervisors")
    now = timezone.now()
    with clear_storage():
        Order.objects.bulk_create([
            Order(ref=f"OC-ENC-{i:08d}", line_type="ADSL", number=f"0363{i % 100000:05d}", value=Decimal(1000),
                  cost=Decimal(980), status=OrderStatus.FULFILLED, created_by=user,
                  created_at=now - timedelta(seconds=30 * i), card_code=f"{i:012d}", num_trans=f"AT-{i}",
                  topup_id=f"t{i}")
            for i in range(n)
        ], batch_size=2000)
    return user


def timed(client: Client, url: str, repeat: int, stream: bool = False) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        body = b"".join(response.streaming_content) if stream else response.content
        times.append(time.perf_counter() - start)
        assert response.status_code == 200 and body, url
    return round(1000 * statistics.median(times), 2)


def encrypt_all() -> float:
    """Encrypt every stored code as the migration does (read clear, bulk_update writes tokens)."""
    start = time.perf_counter()
    rows = list(Order.objects.only("pk", "card_code"))
    Order.objects.bulk_update(rows, ["card_code"], batch_size=2000)
    return round(time.perf_counter() - start, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--export-repeat", type=int, default=5)
    args = parser.parse_args()
    setup_test_environment()
    user = build(args.orders)
    client = Client()
    client.force_login(user)
    sample = Order.objects.order_by("pk").values_list("pk", flat=True)[args.orders // 2]
    page, export = f"/orders/{sample}/", "/orders/export.csv"

    results = {}
    with clear_storage():
        results["clear"] = {"order_page_ms": timed(client, page, args.repeat),
                            "export_ms": timed(client, export, args.export_repeat, stream=True)}
    migration_s = encrypt_all()
    with connection.cursor() as cursor:
        cursor.execute("SELECT card_code FROM topups_order LIMIT 1")
        assert cursor.fetchone()[0].startswith("gAAAAA"), "codes were not encrypted"
    results["encrypted"] = {"order_page_ms": timed(client, page, args.repeat),
                            "export_ms": timed(client, export, args.export_repeat, stream=True)}

    engine = connection.vendor
    print(f"{args.orders} fulfilled orders on {engine}; order page median of {args.repeat}, "
          f"CSV export median of {args.export_repeat}; encrypting the {args.orders} codes took {migration_s} s\n")
    print("| | clear | encrypted | ratio |")
    print("|---|---:|---:|---:|")
    for key, label in (("order_page_ms", "order page (ms)"), ("export_ms", f"CSV export, {args.orders} rows (ms)")):
        clear, enc = results["clear"][key], results["encrypted"][key]
        print(f"| {label} | {clear} | {enc} | {enc / clear:.2f} |")
    write_json("encryption", {"orders": args.orders, "database": engine, "migration_s": migration_s, **results})
    cleanup(TMP)


if __name__ == "__main__":
    main()
