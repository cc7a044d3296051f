"""The control interface over HTTP (``/_sim/``), and the serve_in_thread helper."""

from __future__ import annotations

import pytest
import requests

from topups.simulator import DEMO_KEY, Simulator, serve_in_thread


@pytest.fixture
def running():
    with serve_in_thread() as running:
        yield running


def control(running, method: str, route: str, body=None, **params) -> dict:
    response = requests.request(method, f"{running.control_url}/{route}", json=body, params=params, timeout=5)
    payload = response.json()
    assert response.status_code == 200, payload
    assert payload["success"] is True
    return payload["data"]


def api(running, path: str, method: str = "GET", **kwargs) -> requests.Response:
    return requests.request(method, running.url + path, headers={"X-Access-Token": DEMO_KEY}, timeout=5, **kwargs)


def test_serve_in_thread_gives_url_port_and_simulator():
    simulator = Simulator()
    with serve_in_thread(simulator) as running:
        assert running.url == f"http://127.0.0.1:{running.port}/v3"
        assert running.simulator is simulator
        assert requests.get(running.url + "/ping", timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(running.url + "/ping", timeout=1)


def test_serve_in_thread_refuses_a_simulator_and_kwargs():
    with pytest.raises(TypeError), serve_in_thread(Simulator(), balance=5):
        pass


def test_health_stats_ledger_and_orders(running):
    assert control(running, "GET", "health") == {"ok": True}
    api(running, "/internet/send", "POST", json={"type": "ADSL", "number": "036362608", "value": 500, "ref": "r1"})
    stats = control(running, "GET", "stats")
    assert stats["balance"] == 99510 and stats["total_debited"] == 490 and stats["orders"] == 1
    assert stats["refs"] == {"r1": {"orders": 1, "attempts": 1}}
    assert stats["calls"] == {"send": 1}
    assert [row["amount"] for row in control(running, "GET", "ledger")] == [490]
    assert [order["ref"] for order in control(running, "GET", "orders")] == ["r1"]


def test_balance_reset_and_config(running):
    assert control(running, "POST", "balance", {"balance": "12.50"}) == {"balance": 12.5}
    assert api(running, "/account/balance").json()["data"]["balance"] == 12.5
    config = control(running, "POST", "config", {"fulfil_after": 0.5, "list_shape": "items"})
    assert config["fulfil_after"] == 0.5 and config["list_shape"] == "items"
    assert control(running, "GET", "config")["list_shape"] == "items"
    control(running, "POST", "reset")
    assert api(running, "/account/balance").json()["data"]["balance"] == 100000
    assert control(running, "GET", "config")["fulfil_after"] == 3.0


def test_bad_control_requests_are_400(running):
    for method, route, body in [("POST", "config", {"nope": 1}), ("POST", "faults", {"endpoint": "send"}),
                                ("POST", "stock", {"type": "ADSL", "value": 777, "available": True}),
                                ("POST", "advance", {"seconds": -1})]:
        response = requests.request(method, f"{running.control_url}/{route}", json=body, timeout=5)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "SIM_BAD_REQUEST"
    assert requests.get(f"{running.control_url}/nothing", timeout=5).status_code == 404


def test_stock_products_and_cost(running):
    control(running, "POST", "stock", {"type": "ADSL", "value": 500, "available": False})
    assert api(running, "/internet/send", "POST", json={"type": "ADSL", "number": "036362608", "value": 500}
               ).json()["error"]["code"] == "ERR_STOCK"
    catalog = control(running, "POST", "products", {"type": "4G", "value": 500, "cost": 495})
    assert {"value": 500, "cost": 495, "available": True} in catalog["4G"]
    control(running, "POST", "products", {"type": "ADSL", "value": 1000, "cost": 990.5})
    products = api(running, "/internet/products", params={"type": "ADSL"}).json()["data"]["products"]
    assert {"value": 1000, "cost": 990.5, "available": True} in products
    control(running, "DELETE", "products", type="ADSL", value="3000")
    assert 3000 not in [p["value"] for p in control(running, "GET", "products")["ADSL"]]


def test_advance_and_outcome(running):
    control(running, "POST", "outcome", {"number": "036362608", "outcome": "QUEUED_THEN_REFUNDED"})
    topup_id = api(running, "/internet/send", "POST", json={"type": "ADSL", "number": "036362608", "value": 500}
                   ).json()["data"]["topupId"]
    control(running, "POST", "advance", {"seconds": 3})
    assert api(running, f"/internet/check-id/{topup_id}").json()["data"]["status"] == "QUEUED"
    before = control(running, "GET", "clock")["offset"]
    control(running, "POST", "advance", {"seconds": 120})
    assert control(running, "GET", "clock")["offset"] == before + 120
    assert api(running, f"/internet/check-id/{topup_id}").json()["data"]["status"] == "REFUNDED"
    control(running, "DELETE", "outcome")


def test_faults_and_fault_mix_routes(running):
    listed = control(running, "POST", "faults", {"endpoint": "balance", "kind": "rate_limit", "count": 2})
    assert listed["queued"]["balance"][0]["remaining"] == 2
    assert api(running, "/account/balance").status_code == 429
    control(running, "DELETE", "faults")
    assert api(running, "/account/balance").status_code == 200
    control(running, "POST", "fault-mix", {"endpoint": "ping", "mix": {"unavailable": 1.0}, "seed": 3})
    assert requests.get(running.url + "/ping", timeout=5).status_code == 503
    assert control(running, "GET", "faults")["mixes"]["ping"]["weights"] == {"unavailable": 1.0}


def test_ping_flags_and_keys(running):
    control(running, "POST", "ping", {"api": "error", "operators": {"ooredoo": "down"}})
    data = requests.get(running.url + "/ping", timeout=5).json()["data"]
    assert data["api"] == "error" and data["operators"]["ooredoo"] == "down"
    control(running, "POST", "keys", {"key": "added-over-http-1", "type": "PRODUCTION", "scope": "READ-ONLY"})
    validated = requests.get(running.url + "/validate", headers={"X-Access-Token": "added-over-http-1"}, timeout=5)
    assert validated.json()["data"]["apiKey"]["type"] == "PRODUCTION"
    assert "added-over-http-1" not in validated.text
