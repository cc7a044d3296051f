"""gunicorn, run with the documented logging (config/gunicorn.conf.py), never writes a card code to
its access log: not after a search by code (a POST), nor after the same code typed into the orders
list's, the export's or the admin's address by hand, nor as the Referer of a static file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from decimal import Decimal

import pytest
import requests
from django.db import connection

from tests import processes
from topups.models import Order, OrderStatus
from topups.services import orders
from topups.services.actors import Actor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
CODE = "918273645501"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def start_gunicorn(port: int, log_path) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test",
           "DATABASE_URL": processes.database_url(connection.settings_dict)}
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "-b", f"127.0.0.1:{port}", "-w", "1",
         "config.wsgi"],
        cwd=processes.ROOT, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
        start_new_session=True)


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz/", timeout=10).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def post(session: requests.Session, url: str, data: dict, **kwargs) -> requests.Response:
    token = session.cookies.get("csrftoken") or CSRF_RE.search(session.get(url, timeout=10).text).group(1)
    return session.post(url, data={**data, "csrfmiddlewaretoken": token}, timeout=10, **kwargs)


def test_no_card_code_reaches_the_access_log(supervisor, tmp_path):
    supervisor.set_password("pw-sam-Qx81")
    supervisor.save()
    order, _ = orders.create_order(line_type="ADSL", number="036362608", value=Decimal(1000),
                                   actor=Actor.user(supervisor))
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.FULFILLED, card_code=CODE)
    port = processes.free_port()
    url, log_path = f"http://127.0.0.1:{port}", tmp_path / "gunicorn.log"
    server = start_gunicorn(port, log_path)
    try:
        wait_until_up(url)
        staff = requests.Session()
        login = CSRF_RE.search(staff.get(f"{url}/login/", timeout=10).text).group(1)
        assert staff.post(f"{url}/login/", data={"username": "sam", "password": "pw-sam-Qx81",
                                                 "csrfmiddlewaretoken": login}, timeout=10).url == f"{url}/"
        landed = post(staff, f"{url}/orders/", {"q": CODE})
        assert landed.url == f"{url}/orders/{order.pk}/" and CODE in landed.text  # the search found it
        export = post(staff, f"{url}/orders/export.csv", {"q": CODE})
        assert order.ref in export.text
        # The same code typed into addresses by hand: found nowhere, and logged nowhere either.
        for path in ("/orders/", "/orders/export.csv", "/admin/topups/order/"):
            assert staff.get(f"{url}{path}", params={"q": CODE}, timeout=10).status_code == 200
        staff.get(f"{url}/static/topups/dashboard.js", headers={"Referer": f"{url}/orders/?q={CODE}"}, timeout=10)
    finally:
        processes.stop_group(server)
    log = log_path.read_text()
    assert CODE not in log and CODE[:8] not in log, log
    # Every request was logged, by its path.
    assert '"POST /orders/ HTTP/1.1" 302' in log and '"GET /orders/ HTTP/1.1" 200' in log, log
    assert '"GET /admin/topups/order/ HTTP/1.1" 200' in log, log

