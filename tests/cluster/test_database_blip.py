"""A database blip (PostgreSQL dropping every connection of the app, as a failover or a restart
does) while orders are being sent: every order is still sent, once, within 15 s of the blip, and a
page served by a gunicorn whose connection was dropped answers 200, not 500.

PostgreSQL only (``pg_terminate_backend``): the second pass of .ci/run, or
``DATABASE_URL=postgres://… pytest tests/cluster/test_database_blip.py``."""

from __future__ import annotations

import os
import re
import subprocess
import time
from decimal import Decimal

import pytest
import requests
from django.core.cache import cache
from django.db import connection

from bench.load import free_port, gunicorn_command
from tests import processes
from tests.processes import wait_for
from topups import tasks
from topups.lines.internet import catalog
from topups.models import Order, OrderStatus
from topups.services import orders, sending, sync
from topups.services.actors import Actor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.cluster, pytest.mark.slow]
S = OrderStatus
# Sent: the API accepted the order (what happens next is the status sync's business).
SENT = {S.HANDLING, S.QUEUED, S.UNCERTAIN, S.FULFILLED}
BLIP_LIMIT = 15.0


def terminate_app_connections() -> int:
    """What a failover does to the app: every connection to the database but this test's own is
    dropped. Returns how many were."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def test_orders_in_flight_when_the_database_drops_every_connection_are_sent_within_seconds(
        sim, simulator_server, operator, monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    sim.configure(fulfil_after=60)
    assert catalog.sync_catalog().ok
    # Every send takes 1.5 s at the API: the blip comes while POSTs are in flight, and while
    # other orders of the same tasks wait for their turn.
    sim.inject_fault("send", "latency", count=1000, latency_ms=1500)
    staff = Actor.user(operator)
    created = [orders.create_order(line_type="ADSL", number=f"0363626{i:02d}", value=Decimal(500), actor=staff)[0]
               for i in range(24)]
    ids = [order.pk for order in created]
    log_name = "qcluster-blip"
    with processes.qclusters(1, database_url=processes.database_url(connection.settings_dict),
                             api_url=simulator_server.url, workers=2, log_name=log_name):
        time.sleep(3)  # the cluster's workers up
        orders.request_send(Order.objects.filter(pk__in=ids), actor=staff)
        assert wait_for(lambda: Order.objects.filter(pk__in=ids, status=S.SENDING).exists(), 20)
        time.sleep(0.5)  # POSTs in flight
        dropped = terminate_app_connections()
        blip = time.monotonic()
        in_flight = Order.objects.filter(pk__in=ids, status=S.SENDING).count()
        all_sent = wait_for(lambda: Order.objects.filter(pk__in=ids, status__in=SENT).count() == len(ids),
                            BLIP_LIMIT)
        took = time.monotonic() - blip
        statuses = sorted(Order.objects.filter(pk__in=ids).values_list("status", flat=True))
        log = (processes.ROOT / "test-artifacts" / f"{log_name}-0.log").read_text()[-4000:]
    cache.delete(tasks.SWEEP_LOCK)  # the stopped cluster's sweeper held it: the next test's cluster needs it
    assert dropped > 0 and in_flight > 0
    assert all_sent, (f"{took:.1f} s after the blip: {statuses}", log)
    refs = sim.stats()["refs"]
    assert all(refs[order.ref] == {"orders": 1, "attempts": 1} for order in created)  # each sent once


def drop_this_connection() -> None:
    """The blip as this process's own connection sees it: dropped by the server, from another one."""
    import psycopg

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with psycopg.connect(processes.database_url(connection.settings_dict), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_claim_cut_by_the_database_is_tried_again_on_a_new_connection(sim, operator):
    assert catalog.sync_catalog().ok
    order = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(500),
                                actor=Actor.user(operator))[0]
    drop_this_connection()
    [report] = tasks.send_orders([order.pk], operator.username, operator.pk)
    order.refresh_from_db()
    assert report["outcome"] == "sent" and order.status == S.HANDLING
    assert sim.stats()["refs"][order.ref] == {"orders": 1, "attempts": 1}


def test_a_send_cut_by_the_database_before_its_post_is_sent_again_at_once(sim, operator, monkeypatch):
    """The connection drops after the number check: the key guard cannot be read, nothing is
    POSTed, the order goes back to NEW and the same task sends it again at once."""
    assert catalog.sync_catalog().ok
    order = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(500),
                                actor=Actor.user(operator))[0]
    real_check, checks = sending.checked_line, []

    def check_then_blip(*args, **kwargs):
        answer = real_check(*args, **kwargs)
        if not checks:
            drop_this_connection()
        checks.append(answer)
        return answer

    monkeypatch.setattr(sending, "checked_line", check_then_blip)
    started = time.monotonic()
    [report] = tasks.send_orders([order.pk], operator.username, operator.pk)
    order.refresh_from_db()
    assert report["outcome"] == "sent" and order.status == S.HANDLING and time.monotonic() - started < 5
    assert len(checks) == 2 and sim.stats()["refs"][order.ref] == {"orders": 1, "attempts": 1}
    moves = list(order.events.order_by("pk").values_list("to_status", "note_code"))[1:]
    assert moves == [(S.SENDING, ""), (S.NEW, sending.DATABASE_LOST), (S.SENDING, ""), (S.HANDLING, "Accepted by the API")], moves


def test_the_sweeper_carries_on_after_a_dropped_connection(sim, operator, monkeypatch):
    """A sweeper cycle cut by the blip is followed by the next one, on a new connection, instead of
    the sweeper (and its hand-over chain) ending until the minute schedule restarts it."""
    assert catalog.sync_catalog().ok
    order = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(500),
                                actor=Actor.user(operator))[0]
    assert sending.send_order(order_id=order.pk, actor=Actor.user(operator)).outcome == "sent"
    Order.objects.filter(pk=order.pk).update(next_check_at=None)
    sync.schedule_refresh([order.pk])
    real_cycle, cycles = sync.sync_due_orders, []

    def blip_then_cycle(**kwargs):
        if not cycles:
            drop_this_connection()
        cycles.append(1)
        return real_cycle(**kwargs)

    monkeypatch.setattr(sync, "sync_due_orders", blip_then_cycle)
    cache.delete(tasks.SWEEP_LOCK)
    totals = tasks.sync_orders(sweep_seconds=1.5, cycle_seconds=0.2)
    assert len(cycles) >= 2 and totals["cycles"] >= 1 and totals["checked"] >= 1, totals


def test_a_page_survives_a_dropped_connection(operator, tmp_path):
    """gunicorn keeps its connection between requests (CONN_MAX_AGE): after a blip, the next
    request checks it first (CONN_HEALTH_CHECKS) and reconnects instead of answering 500."""
    operator.set_password("blip-pass-Qx81")
    operator.save()
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test",
           "DATABASE_URL": processes.database_url(connection.settings_dict), "CONN_MAX_AGE": "60"}
    run_dir = tmp_path / "gunicorn"
    run_dir.mkdir()
    command = gunicorn_command(port=port, workers=1, threads=1, run_dir=run_dir)
    log = open(run_dir / "gunicorn.log", "w")  # noqa: SIM115 (closed by stop_group)
    server = subprocess.Popen(command, cwd=processes.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: _answers(base + "/healthz/"), 20, step=0.2)
        browser = requests.Session()
        page = browser.get(base + "/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        logged_in = browser.post(base + "/login/", data={"username": operator.username, "password": "blip-pass-Qx81",
                                                         "csrfmiddlewaretoken": token},
                                 headers={"Referer": base + "/login/"}, timeout=10)
        assert logged_in.status_code == 200 and browser.get(base + "/", timeout=10).status_code == 200
        assert terminate_app_connections() > 0
        assert browser.get(base + "/", timeout=10).status_code == 200
    finally:
        processes.stop_group(server)
        log.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
