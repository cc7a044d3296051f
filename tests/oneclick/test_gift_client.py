"""Gift cards in the client (API notes section 5, Appendix C #7 and #8): every documented shape is
read, the order's body carries ``ref`` only when given, and a failure after the request left is
``OutcomeUnknown``, never a refusal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
import responses

from topups.oneclick import (
    BadResponse,
    GiftOrderStatus,
    InsufficientBalance,
    InvalidRequest,
    MemoryKeyGuard,
    NotFound,
    OneClickClient,
    OutcomeUnknown,
    OutOfStock,
    ValidationFailed,
)
from topups.oneclick.parsing import parse_gift_catalog, parse_gift_order, parse_gift_product

BASE = "https://api.test/v3"
PRODUCT = "507f1f77bcf86cd799439011"
ORDER = "6901616fe9e88196b4eb64b3"


@pytest.fixture
def client() -> OneClickClient:
    return OneClickClient(BASE, "a-key-0000", get_retries=0, backoff_factor=0, key_guard=MemoryKeyGuard())


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def ok(data, **meta):
    return {"success": True, "data": data, "meta": {"timestamp": "2025-10-29T01:00:00.000Z", **meta},
            "requestId": "req_1730163600_abc123"}


# Shapes ------------------------------------------------------------------------------------------


def test_the_catalogue_with_its_totals_and_an_optional_region(client, mocked):
    mocked.get(f"{BASE}/gift-cards/catalog", json={"success": True, "data": {"categories": [
        {"name": "Gaming Cards", "products": [
            {"id": PRODUCT, "title": "PlayStation Network", "enabled": True, "region": "dz"},
            {"id": "507f1f77bcf86cd799439012", "title": "Google Play Gift Card", "enabled": False},
            {"title": "no id: cannot be ordered"}]}]}, "meta": {"totalCategories": 8, "totalProducts": 127}})
    catalog = client.gift_catalog()
    assert (catalog.total_categories, catalog.total_products) == (8, 127)
    psn, play = catalog.products
    assert (psn.id, psn.title, psn.enabled, psn.region, psn.category) == (
        PRODUCT, "PlayStation Network", True, "dz", "Gaming Cards")
    assert (play.enabled, play.region) == (False, "")


def test_a_catalogue_as_a_bare_list_without_totals():
    catalog = parse_gift_catalog([{"name": "Streaming", "products": [{"_id": "p1", "name": "Netflix"}]}])
    assert catalog.products[0].id == "p1" and catalog.products[0].title == "Netflix"
    assert catalog.products[0].enabled and catalog.total_products is None


def test_check_product_with_id_or_the_arabic_guides_underscore_id(client, mocked):
    mocked.get(f"{BASE}/gift-cards/checkProduct/{PRODUCT}", json=ok({
        "productId": PRODUCT, "productTitle": "PlayStation Network",
        "types": [{"id": "type_001", "name": "PSN 500 DA", "price": 490, "quantity": 150},
                  {"_id": "type_003", "name": "PSN 2000 DA", "price": 1960.5, "quantity": 0}]}))
    product = client.gift_check_product(PRODUCT)
    assert (product.product_id, product.title) == (PRODUCT, "PlayStation Network")
    first, second = product.types
    assert (first.id, first.price, first.stock, first.in_stock) == ("type_001", Decimal(490), 150, True)
    assert (second.id, second.price, second.in_stock) == ("type_003", Decimal("1960.5"), False)
    assert product.type("type_003") is second and product.type("nope") is None


def test_a_type_without_price_is_unreadable():
    with pytest.raises(BadResponse):
        parse_gift_product({"productId": PRODUCT, "types": [{"id": "t", "quantity": 3}]})


def test_place_order_sends_no_ref_unless_given(client, mocked):
    mocked.post(f"{BASE}/gift-cards/placeOrder", json=ok({"orderId": ORDER}))
    placed = client.place_gift_order(PRODUCT, "type_001", 2)
    assert (placed.order_id, placed.order_ref) == (ORDER, "")
    assert json.loads(mocked.calls[-1].request.body) == {"productId": PRODUCT, "typeId": "type_001", "quantity": 2}


def test_place_order_with_a_ref_reads_the_arabic_guides_order_ref(client, mocked):
    mocked.post(f"{BASE}/gift-cards/placeOrder", json=ok({"orderId": ORDER, "orderRef": "G-1"}))
    placed = client.place_gift_order(product_id=PRODUCT, type_id="TEST_PARTIAL", quantity=4, ref="G-1")
    assert placed.order_ref == "G-1"
    assert json.loads(mocked.calls[-1].request.body)["ref"] == "G-1"


@pytest.mark.parametrize(("args", "kwargs"), [
    (("", "t", 1), {}), ((PRODUCT, None, 1), {}), ((PRODUCT, "t", 0), {}), ((PRODUCT, "t", True), {}),
    ((PRODUCT, "t", 1.5), {}), ((PRODUCT, "t", "2"), {}), ((PRODUCT, "t", 1), {"ref": ""}),
])
def test_bad_orders_are_refused_without_network(client, mocked, args, kwargs):
    with pytest.raises(InvalidRequest):
        client.place_gift_order(*args, **kwargs)
    assert len(mocked.calls) == 0


def test_a_handling_order_has_no_amounts_yet():
    order = parse_gift_order({"_id": ORDER, "status": "HANDLING", "quantity": 2, "product": PRODUCT,
                              "type": "type_001", "time": "2025-10-29T01:00:00.000Z"})
    assert (order.status, order.quantity, order.product_id, order.type_id) == (
        GiftOrderStatus.HANDLING, 2, PRODUCT, "type_001")
    assert order.created_at == datetime(2025, 10, 29, 1, tzinfo=UTC)
    assert (order.fulfilled_quantity, order.price_per_card, order.ordered_amount, order.cards) == (None, None, None, ())
    assert not order.status.is_final


def test_the_fulfilled_example_without_product_and_type(client, mocked):
    mocked.get(f"{BASE}/gift-cards/checkOrder/{ORDER}", json={"success": True, "data": {
        "_id": ORDER, "status": "FULFILLED", "quantity": 2, "fulfilled_quantity": 2, "fulfilled_amount": 980,
        "price_per_card": 490, "cards": [{"value": "XXXX-XXXX-XXXX-XXXX", "serial": "123456789"},
                                         {"value": "YYYY-YYYY-YYYY-YYYY", "serial": "987654321"}],
        "time": "2025-10-29T01:00:00.000Z"}})
    order = client.gift_check_order(ORDER)
    assert order.status.is_final and (order.product_id, order.type_id) == ("", "")
    assert [card.value for card in order.cards] == ["XXXX-XXXX-XXXX-XXXX", "YYYY-YYYY-YYYY-YYYY"]
    assert (order.ordered_amount, order.fulfilled_amount, order.undelivered_amount) == (
        Decimal(980), Decimal(980), Decimal(0))
    assert "XXXX" not in repr(order) and "XXXX-XXXX-XXXX" not in repr(order.cards[0])


def test_partial_and_refunded_orders_say_what_is_refunded():
    partial = parse_gift_order({"_id": ORDER, "status": "PARTIALLY_FILLED", "quantity": 4, "fulfilled_quantity": 2,
                                "price_per_card": 490, "fulfilled_amount": 980,
                                "cards": [{"value": "A", "serial": "1"}, {"value": "B", "serial": "2"}]})
    assert (partial.delivered, partial.undelivered, partial.undelivered_amount) == (2, 2, Decimal(980))
    refunded = parse_gift_order({"_id": ORDER, "status": "REFUNDED", "quantity": 3, "fulfilled_quantity": 0,
                                 "price_per_card": 490, "cards": []})
    assert refunded.status.is_final and refunded.undelivered_amount == Decimal(1470)


def test_the_sandbox_card_and_an_unknown_status_are_kept():
    order = parse_gift_order({"_id": ORDER, "status": "ON_HOLD", "quantity": 1, "price_per_card": 0,
                              "fulfilled_amount": 0, "cards": [{"value": "SANDBOX-CARD-1", "serial": "SANDBOX-1"}]})
    assert not order.status.is_known and order.status.value == "ON_HOLD"
    assert order.cards[0].serial == "SANDBOX-1" and order.ordered_amount == Decimal(0)


@pytest.mark.parametrize("cards", [[{"serial": "1"}], ["XXXX"], {"value": "X"}])
def test_a_card_that_cannot_be_read_spoils_the_order(cards):
    with pytest.raises(BadResponse):
        parse_gift_order({"_id": ORDER, "status": "FULFILLED", "quantity": 1, "cards": cards})


def test_the_list_in_the_standard_shape_keeps_an_unreadable_item_aside(client, mocked):
    mocked.get(f"{BASE}/gift-cards/list", json=ok({
        "items": [{"_id": ORDER, "quantity": 1, "price_per_card": 490, "time": "2025-10-29T01:00:00.000Z",
                   "fulfilled_quantity": 1, "fulfilled_amount": 490, "cards": [{"value": "C", "serial": "S"}],
                   "status": "FULFILLED", "product": PRODUCT, "type": "type_001"},
                  {"quantity": 1, "status": "HANDLING"}],
        "pagination": {"page": 1, "pageSize": 20, "totalPages": 2, "totalResults": 22}}))
    page = client.list_gift_orders(from_=datetime(2025, 10, 29, tzinfo=UTC), to=datetime(2025, 10, 30, tzinfo=UTC))
    assert [o.id for o in page.items] == [ORDER] and len(page.unreadable) == 1 and page.has_next
    sent = mocked.calls[-1].request.url
    assert "from=2025-10-29T00%3A00%3A00.000Z" in sent and "pageSize=20" in sent


# Errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "code", "cls"), [
    (400, "ERR_STOCK", OutOfStock), (403, "INSUFFICIENT_BALANCE", InsufficientBalance),
    (403, "NO_BALANCE", InsufficientBalance), (400, "ERR_VALIDATION", ValidationFailed),
    (404, "NOT_FOUND", NotFound),
])
def test_a_refusal_is_its_typed_error(client, mocked, status, code, cls):
    mocked.post(f"{BASE}/gift-cards/placeOrder", status=status,
                json={"success": False, "error": {"code": code, "message": "no"}, "requestId": "req_1_a"})
    with pytest.raises(cls) as caught:
        client.place_gift_order(PRODUCT, "type_001", 1)
    assert not isinstance(caught.value, OutcomeUnknown)


@pytest.mark.parametrize("answer", [
    {"status": 500, "json": {"success": False, "error": {"code": "INTERNAL_ERROR", "message": "boom"}}},
    {"status": 502, "body": "Bad gateway"},
    {"status": 200, "body": '{"success":true,"data":{"orderId":"'},
    {"status": 200, "json": {"success": True, "data": {"no": "order id"}}},
    {"body": requests.exceptions.ReadTimeout("read timed out")},
    {"body": requests.exceptions.ConnectionError("Connection aborted: reset by peer")},
])
def test_a_failure_after_the_order_left_is_outcome_unknown(client, mocked, answer):
    mocked.post(f"{BASE}/gift-cards/placeOrder", **answer)
    with pytest.raises(OutcomeUnknown):
        client.place_gift_order(PRODUCT, "type_001", 1)
    assert len(mocked.calls) == 1
