"""End to end with a real qcluster process: an order sent from the admin action reaches
FULFILLED, with its card code visible in the admin, within 15 s."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from tests import processes
from topups.lines.internet import catalog
from topups.models import OrderStatus
from topups.services import orders
from topups.services.actors import Actor

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster, pytest.mark.slow]


def database_url() -> str:
    return processes.database_url(connection.settings_dict)


@pytest.fixture
def qcluster(sim, simulator_server, monkeypatch):
    """A real `manage.py qcluster` on the test database and the simulator; tasks are queued, not
    run inline, for the length of the test."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    with processes.qclusters(1, database_url=database_url(), api_url=simulator_server.url, workers=2) as (cluster,):
        yield cluster


def test_admin_send_reaches_fulfilled_with_a_real_cluster(sim, qcluster, supervisor, client):
    sim.configure(fulfil_after=3)
    catalog.sync_catalog()
    order, _ = orders.create_order(line_type="4G", number="213665983400", value=Decimal(1000),
                                   actor=Actor.user(supervisor))
    client.force_login(supervisor)
    started = time.monotonic()
    response = client.post(reverse("admin:topups_order_changelist"),
                           {"action": "send_selected", "_selected_action": [order.pk]})
    assert response.status_code == 302
    assert time.monotonic() - started < 1.0  # the action only enqueues
    while time.monotonic() - started < 15:
        order.refresh_from_db()
        if order.status == OrderStatus.FULFILLED:
            break
        time.sleep(0.25)
    assert order.status == OrderStatus.FULFILLED, (order.status, (ROOT / "test-artifacts/qcluster-0.log").read_text()[-3000:])
    page = client.get(reverse("admin:topups_order_change", args=[order.pk])).content.decode()
    assert order.card_code and order.card_code in page
    assert sim.stats()["refs"][order.ref] == {"orders": 1, "attempts": 1}
