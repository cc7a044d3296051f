"""The simulator's gift cards over HTTP: catalogue, checkProduct, placeOrder with or without a ref,
the sandbox types, stock, balance, ledger rows, the list's window and lag, and the control routes."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from tests.simulator.calls import keyed_caller
from topups.simulator.testing import serve_in_thread

KEY = "gift-test-key"
PSN = "507f1f77bcf86cd799439011"
STEAM = "507f1f77bcf86cd799439014"


@pytest.fixture(scope="module")
def server():
    with serve_in_thread(keys={KEY: None, "prod-key-0000": {"type": "PRODUCTION"}}) as running:
        yield running


@pytest.fixture
def api(server):
    with keyed_caller(server, KEY) as call:
        yield call


def place(api, type_id="type_001", quantity=2, product=PSN, **extra):
    return api("POST", "/gift-cards/placeOrder", json={"productId": product, "typeId": type_id,
                                                      "quantity": quantity, **extra})


def test_the_catalogue_has_categories_totals_and_a_disabled_product(api):
    status, body = api("GET", "/gift-cards/catalog")
    assert status == 200 and body["meta"]["totalCategories"] == 2 and body["meta"]["totalProducts"] == 4
    products = {p["id"]: p for c in body["data"]["categories"] for p in c["products"]}
    assert products[PSN] == {"id": PSN, "title": "PlayStation Network", "enabled": True, "region": "dz"}
    assert products[STEAM]["enabled"] is False and "region" not in products[STEAM]


def test_check_product_lists_types_with_price_and_stock(api):
    status, body = api("GET", f"/gift-cards/checkProduct/{PSN}")
    types = {t["id"]: t for t in body["data"]["types"]}
    assert status == 200 and body["data"]["productTitle"] == "PlayStation Network"
    assert types["type_001"] == {"id": "type_001", "name": "PSN 500 DA", "price": 490, "quantity": 150}
    assert types["type_003"]["quantity"] == 0
    status, body = api("GET", "/gift-cards/checkProduct/" + "0" * 24)
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"


def test_an_order_is_debited_then_fulfilled_with_its_cards(api):
    status, body = place(api)
    assert status == 200 and set(body["data"]) == {"orderId"}
    order_id = body["data"]["orderId"]
    row = api.sim.ledger()[-1]
    assert (row["type"], row["amount"], row["objid"], row["operation"]) == ("ORDER", Decimal(980), order_id,
                                                                           "decrement")
    _, found = api("GET", f"/gift-cards/checkOrder/{order_id}")
    assert found["data"]["status"] == "HANDLING" and "cards" not in found["data"]
    api.sim.advance(3)
    _, found = api("GET", f"/gift-cards/checkOrder/{order_id}")
    data = found["data"]
    assert (data["status"], data["fulfilled_quantity"], data["fulfilled_amount"], data["price_per_card"]) == (
        "FULFILLED", 2, 980, 490)
    assert data["cards"] == [{"value": "SANDBOX-CARD-1", "serial": "SANDBOX-1"},
                             {"value": "SANDBOX-CARD-2", "serial": "SANDBOX-2"}]
    assert api.sim.balance == Decimal("100000") - 980 and api.sim.ledger()[-1]["type"] == "ORDER"
    _, product = api("GET", f"/gift-cards/checkProduct/{PSN}")
    assert product["data"]["types"][0]["quantity"] == 148


def test_a_production_key_gets_real_looking_cards(api, server):
    body = requests.post(server.url + "/gift-cards/placeOrder", headers={"X-Access-Token": "prod-key-0000"},
                         json={"productId": PSN, "typeId": "type_001", "quantity": 1}, timeout=5).json()
    api.sim.advance(3)
    card = api("GET", f"/gift-cards/checkOrder/{body['data']['orderId']}")[1]["data"]["cards"][0]
    assert len(card["value"]) == 19 and card["value"].count("-") == 3 and len(card["serial"]) == 9


def test_test_partial_delivers_half_and_refunds_the_rest(api):
    order_id = place(api, "TEST_PARTIAL", 4)[1]["data"]["orderId"]
    api.sim.advance(3)
    data = api("GET", f"/gift-cards/checkOrder/{order_id}")[1]["data"]
    assert (data["status"], data["fulfilled_quantity"], len(data["cards"]), data["fulfilled_amount"]) == (
        "PARTIALLY_FILLED", 2, 2, 980)
    order_row, refund_row = api.sim.ledger()[-2:]
    assert (order_row["type"], order_row["amount"]) == ("ORDER", Decimal(1960))
    assert (refund_row["type"], refund_row["amount"], refund_row["objid"], refund_row["operation"]) == (
        "REFUND-ORDER", Decimal(980), order_id, "increment")
    assert api.sim.net_debits()[order_id] == Decimal(980)


def test_test_refund_delivers_nothing_and_refunds_everything(api):
    order_id = place(api, "TEST_REFUND", 3)[1]["data"]["orderId"]
    api.sim.advance(3)
    data = api("GET", f"/gift-cards/checkOrder/{order_id}")[1]["data"]
    assert (data["status"], data["fulfilled_quantity"], data["cards"]) == ("REFUNDED", 0, [])
    assert [(r["type"], r["amount"]) for r in api.sim.ledger()] == [("ORDER", Decimal(1470)),
                                                                     ("REFUND-ORDER", Decimal(1470))]
    assert api.sim.balance == Decimal("100000") and api.sim.net_debits()[order_id] == 0


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"productId": PSN, "typeId": "type_003", "quantity": 1}, 400, "ERR_STOCK"),
    ({"productId": PSN, "typeId": "type_002", "quantity": 41}, 400, "ERR_STOCK"),
    ({"productId": STEAM, "typeId": "steam_1000", "quantity": 1}, 400, "ERR_VALIDATION"),
    ({"productId": "0" * 24, "typeId": "type_001", "quantity": 1}, 400, "ERR_VALIDATION"),
    ({"productId": PSN, "typeId": "nope", "quantity": 1}, 400, "ERR_VALIDATION"),
    ({"productId": PSN, "typeId": "type_001", "quantity": 0}, 400, "ERR_VALIDATION"),
    ({"productId": PSN, "typeId": "type_001", "quantity": "2"}, 400, "ERR_VALIDATION"),
    ({"productId": PSN, "typeId": "type_001"}, 400, "ERR_VALIDATION"),
    ({"productId": PSN, "typeId": "type_002", "quantity": 40}, 403, "INSUFFICIENT_BALANCE"),
])
def test_refusals_debit_nothing(api, body, status, code):
    api.sim.set_balance(30000)
    rows = len(api.sim.ledger())
    answer_status, answer = api("POST", "/gift-cards/placeOrder", json=body)
    assert (answer_status, answer["error"]["code"]) == (status, code)
    assert len(api.sim.ledger()) == rows and api.sim.balance == 30000
    if code == "INSUFFICIENT_BALANCE":
        assert answer["error"]["details"] == {"required": 39200, "available": 30000}


def test_a_ref_is_ignored_by_default_and_echoed_when_configured(api):
    status, body = place(api, ref="G-1")
    assert status == 200 and "orderRef" not in body["data"]
    assert api("GET", f"/gift-cards/checkOrder/{body['data']['orderId']}")[1]["data"].get("ref") is None
    api.control("POST", "/config", json={"gift_ref": "echo"})
    status, body = place(api, ref="G-1")
    assert body["data"]["orderRef"] == "G-1"
    assert api("GET", f"/gift-cards/checkOrder/{body['data']['orderId']}")[1]["data"]["ref"] == "G-1"
    status, again = place(api, ref="G-1")
    assert (status, again["error"]["code"]) == (403, "DUPLICATED_REF")
    assert api.sim.stats()["refs"]["G-1"] == {"orders": 1, "attempts": 3}


def test_stock_flips_and_product_switches_through_the_control(api):
    assert api.control("POST", "/gift-cards/stock", json={"productId": PSN, "typeId": "type_001",
                                                         "stock": 0})["data"]["quantity"] == 0
    assert place(api)[1]["error"]["code"] == "ERR_STOCK"
    api.control("POST", "/gift-cards/stock", json={"productId": PSN, "typeId": "type_001", "stock": 5})
    api.control("POST", "/gift-cards/product", json={"productId": STEAM, "enabled": True})
    assert place(api, "steam_1000", 1, STEAM)[0] == 200
    catalogue = api.control("GET", "/gift-cards")["data"]
    assert {p["id"]: p["enabled"] for p in catalogue}[STEAM] is True
    bad = api.control("POST", "/gift-cards/stock", json={"productId": PSN, "typeId": "zzz", "stock": 1})
    assert bad["error"]["code"] == "SIM_BAD_REQUEST"


def test_the_list_is_newest_first_windowed_paginated_and_lagging(api):
    api.sim.configure(gift_list_lag=30)
    first = place(api, quantity=1)[1]["data"]["orderId"]
    api.sim.advance(10)
    second = place(api, "TEST_REFUND", 1)[1]["data"]["orderId"]
    assert api("GET", "/gift-cards/list")[1]["data"]["items"] == []
    api.sim.advance(21)
    _, body = api("GET", "/gift-cards/list")
    assert [o["_id"] for o in body["data"]["items"]] == [first]
    api.sim.advance(10)
    _, body = api("GET", "/gift-cards/list", params={"pageSize": 1, "page": 2})
    assert [o["_id"] for o in body["data"]["items"]] == [first]
    assert body["data"]["pagination"] == {"page": 2, "pageSize": 1, "totalPages": 2, "totalResults": 2}
    newest = api("GET", "/gift-cards/list")[1]["data"]["items"][0]
    assert newest["_id"] == second and newest["status"] == "REFUNDED"
    time = api.sim.orders()[0]["time"]
    _, body = api("GET", "/gift-cards/list", params={"from": time, "to": time})
    assert [o["_id"] for o in body["data"]["items"]] == [first]


def test_stats_orders_and_debits_include_gift_orders(api):
    api.sim.configure(gift_ref="echo")
    with_ref = place(api, ref="G-9")[1]["data"]["orderId"]
    without = place(api, "TEST_PARTIAL", 2)[1]["data"]["orderId"]
    api.sim.advance(3)
    stats = api.sim.stats()
    assert stats["orders"] == 2 and stats["orders_by_status"] == {"FULFILLED": 1, "PARTIALLY_FILLED": 1}
    assert stats["total_debited"] == 1960 and stats["total_refunded"] == 490
    assert api.sim.net_debits() == {"G-9": Decimal(980), without: Decimal(490)}
    assert [o["_id"] for o in api.sim.orders()] == [with_ref, without]


def test_unknown_order_is_not_found_and_a_top_up_id_is_not_a_gift_order(api):
    assert api("GET", "/gift-cards/checkOrder/" + "a" * 24)[0] == 404
    topup = api("POST", "/internet/send", json={"type": "ADSL", "number": "036362608", "value": 500})
    assert api("GET", f"/gift-cards/checkOrder/{topup[1]['data']['topupId']}")[0] == 404


def test_faults_on_place_order_act_after_or_before_placing(api):
    api.sim.inject_fault("gift-place-order", "reset_after")
    with pytest.raises(requests.ConnectionError):
        place(api)
    assert [o["status"] for o in api.sim.orders()] == ["HANDLING"]
    api.sim.inject_fault("gift-place-order", "error_500_before")
    status, body = place(api)
    assert (status, body["error"]["code"]) == (500, "INTERNAL_ERROR") and len(api.sim.orders()) == 1
    assert api.sim.stats()["faults_fired"] == {"reset_after": 1, "error_500_before": 1}
