"""End to end with a real qcluster: a 1,000-row file goes from upload to every order final."""

from __future__ import annotations

import io
import time
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.cluster.test_admin_send import ROOT, qcluster  # noqa: F401  (the fixture)
from topups.lines.internet import catalog
from topups.models import FINAL_STATUSES, ApiAccount, Batch, Order, OrderStatus
from topups.services.account import current_fingerprint

S = OrderStatus
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster, pytest.mark.slow]
ROWS = 1000


def number(index: int) -> str:
    """Unique ADSL lines; every 100th does not exist (ERR_PHONE), every 100th + 50 is refunded."""
    ending = 99 if index % 100 == 7 else 90 if index % 100 == 57 else index % 90
    return f"0365{index:03d}{ending:02d}"


def test_a_thousand_rows_reach_a_final_status(sim, qcluster, supervisor, client):  # noqa: F811
    sim.configure(fulfil_after=1)
    sim.set_balance(10_000_000)
    catalog.sync_catalog()
    ApiAccount.objects.filter(key_fingerprint=current_fingerprint()).update(balance=Decimal(10_000_000))
    content = "type;number;value;note\r\n" + "".join(f"ADSL;{number(i)};500;row {i}\r\n" for i in range(ROWS))
    file = io.BytesIO(content.encode())
    file.name = "thousand.csv"
    client.force_login(supervisor)

    started = time.monotonic()
    response = client.post(reverse("topups:batch_new"), {"file": file})
    assert response.status_code == 302
    batch = Batch.objects.get()
    assert batch.row_count == ROWS and batch.valid_count == ROWS
    assert client.post(reverse("topups:batch_confirm", args=[batch.pk])).status_code == 302
    assert client.post(reverse("topups:batch_confirm", args=[batch.pk])).status_code == 302  # a double click
    assert Order.objects.filter(batch=batch).count() == ROWS
    confirmed = time.monotonic()

    status_url = reverse("topups:batch_status", args=[batch.pk])
    while time.monotonic() - started < 180:  # a deadline for reaching final, not a speed measure
        status = client.get(status_url).json()
        if status["done"]:
            break
        time.sleep(1)
    remaining = Order.objects.exclude(status__in=FINAL_STATUSES).values_list("status", flat=True)
    assert status["done"], (list(remaining)[:20], (ROOT / "test-artifacts/qcluster-0.log").read_text()[-3000:])
    counts = {c["status"]: c["count"] for c in status["counts"]}
    assert counts["refused"] == 10 and counts["refunded"] == 10 and counts["fulfilled"] == ROWS - 20
    assert all(f["reason"] for f in status["failures"])
    stats = sim.stats()
    assert stats["max_orders_per_ref"] == 1
    results = b"".join(client.get(reverse("topups:batch_results", args=[batch.pk])).streaming_content)
    assert results.decode("utf-8-sig").count("\r\n") == ROWS + 1
    print(f"\n1,000 rows: upload + preview + confirm {confirmed - started:.1f} s, "
          f"every order final after {time.monotonic() - started:.1f} s")
