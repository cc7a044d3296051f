"""Every JSON example of the API reference (sections 1-3), recorded in tests/fixtures/api, parsed
through the client over a mocked transport (``responses``): typed values come out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import responses

from topups.oneclick import (
    AccountInfo,
    ApiError,
    BadResponse,
    DuplicatedRef,
    Forbidden,
    InsufficientBalance,
    InvalidAccessToken,
    IpBlocked,
    LineType,
    MemoryKeyGuard,
    MissingAccessToken,
    NotFound,
    OneClickClient,
    OutOfStock,
    PhoneError,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TopupStatus,
    ValidationFailed,
)
from topups.oneclick.parsing import read_envelope

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "api"
BASE = "https://api.test/v3"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def client() -> OneClickClient:
    return OneClickClient(BASE, "test-key", get_retries=0, backoff_factor=0, key_guard=MemoryKeyGuard())


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def aware(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_every_fixture_is_a_json_envelope():
    names = sorted(p.stem for p in FIXTURES.glob("*.json"))
    assert len(names) >= 30
    for name in names:
        envelope = read_envelope((FIXTURES / f"{name}.json").read_bytes())
        assert envelope is not None, name


# Section 1 ------------------------------------------------------------------------------------


def test_ping(client, mocked):
    mocked.get(f"{BASE}/ping", json=load("1.10-ping"))
    health = client.ping()
    assert health.api_ok is True
    assert health.operators == {"mobilis": True, "ooredoo": True, "djezzy": True, "mobilisFixedPlans": True}
    # The health check needs no key and is sent without one.
    assert "X-Access-Token" not in mocked.calls[0].request.headers


def test_ping_reports_api_error_and_down_operators(client, mocked):
    body = load("1.10-ping")
    body["data"]["api"] = "error"
    body["data"]["operators"]["djezzy"] = "down"
    mocked.get(f"{BASE}/ping", json=body)
    health = client.ping()
    assert health.api_ok is False
    assert health.operators["djezzy"] is False


def test_standard_list_shape_from_1_9(client, mocked):
    mocked.get(f"{BASE}/account/transactions", json=load("1.9-list-standard-empty"))
    page = client.transactions()
    assert page.items == ()
    assert (page.page, page.page_size, page.total_pages, page.total_items) == (1, 20, 10, 195)
    assert page.has_next


def test_generic_error_envelope_from_1_3_falls_back_on_http_status(client, mocked):
    mocked.get(f"{BASE}/account/balance", json=load("1.3-envelope-error"), status=400)
    with pytest.raises(ValidationFailed) as info:
        client.balance()
    assert info.value.code == "ERROR_CODE"
    assert info.value.message == "Human-readable error message"
    assert info.value.request_id == "req_1234567890_abc123"


# (fixture, HTTP status, expected class, code) — statuses as section 1.5 documents or infers them.
ERROR_CASES = [
    ("1.5-error-missing-access-token", 401, MissingAccessToken, "MISSING_ACCESS_TOKEN"),
    ("1.5-error-missing-access-token", 400, MissingAccessToken, "MISSING_ACCESS_TOKEN"),  # validate page
    ("1.5-error-invalid-access-token", 401, InvalidAccessToken, "INVALID_ACCESS_TOKEN"),
    ("1.5-error-err-auth", 401, InvalidAccessToken, "ERR_AUTH"),
    ("1.5-error-ip-blocked", 403, IpBlocked, "IP_BLOCKED"),
    ("1.5-error-ip-not-whitelisted-uncoded", 403, IpBlocked, "FORBIDDEN"),
    ("1.5-error-err-validation", 400, ValidationFailed, "ERR_VALIDATION"),
    ("1.5-error-err-phone", 400, PhoneError, "ERR_PHONE"),
    ("1.5-error-invalid-phone", 400, PhoneError, "INVALID_PHONE"),
    ("1.5-error-err-stock", 400, OutOfStock, "ERR_STOCK"),
    ("1.5-error-err-stock", 403, OutOfStock, "ERR_STOCK"),
    ("1.5-error-insufficient-balance", 403, InsufficientBalance, "INSUFFICIENT_BALANCE"),
    ("1.5-error-no-balance", 403, InsufficientBalance, "NO_BALANCE"),
    ("1.5-error-duplicated-ref", 403, DuplicatedRef, "DUPLICATED_REF"),
    ("1.5-error-not-found", 404, NotFound, "NOT_FOUND"),
    ("1.5-error-rate-limited", 429, RateLimited, "RATE_LIMITED"),
    ("1.5-error-internal-error", 500, ServerError, "INTERNAL_ERROR"),
    ("1.5-error-service-unavailable", 503, ServiceUnavailable, "SERVICE_UNAVAILABLE"),
]


@pytest.mark.parametrize(
    ("name", "status", "cls", "code"), ERROR_CASES, ids=[f"{c[0]}-{c[1]}" for c in ERROR_CASES]
)
def test_error_envelopes_of_1_5_raise_typed_errors(client, mocked, name, status, cls, code):
    body = load(name)
    mocked.get(f"{BASE}/account/balance", json=body, status=status)
    with pytest.raises(cls) as info:
        client.balance()
    error = info.value
    assert type(error) is cls
    assert error.code == code
    assert error.message == body["error"]["message"]
    assert error.details == body["error"].get("details", {})
    assert error.http_status == status
    assert error.request_id == body.get("requestId")


def test_invalid_access_token_exposes_attempts_left(client, mocked):
    mocked.get(f"{BASE}/validate", json=load("1.5-error-invalid-access-token"), status=401)
    with pytest.raises(InvalidAccessToken) as info:
        client.validate()
    assert info.value.attempts_left == 3


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ValidationFailed),
        (401, InvalidAccessToken),
        (403, Forbidden),
        (404, NotFound),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (503, ServiceUnavailable),
        (409, ApiError),
    ],
)
def test_unknown_codes_fall_back_on_http_status(client, mocked, status, cls):
    body = {"success": False, "error": {"code": "SOMETHING_NEW", "message": "new"}, "requestId": "req_1_x"}
    mocked.get(f"{BASE}/account/balance", json=body, status=status)
    with pytest.raises(cls) as info:
        client.balance()
    assert type(info.value) is cls
    assert info.value.code == "SOMETHING_NEW"


# Section 2 ------------------------------------------------------------------------------------


def test_validate(client, mocked):
    mocked.get(f"{BASE}/validate", json=load("2.1-validate"))
    account = client.validate()
    assert account == AccountInfo(
        username="+213665983439", key_type="SANDBOX", is_enabled=True, scope="READ-WRITE", allowed_ips=()
    )
    assert account.is_sandbox
    # The key the API echoes is not kept anywhere in the result.
    assert "ea27b376" not in repr(account)
    assert mocked.calls[0].request.headers["X-Access-Token"] == "test-key"


@pytest.mark.parametrize("name", ["2.2-balance", "2.2-balance-with-currency"])
def test_balance(client, mocked, name):
    mocked.get(f"{BASE}/account/balance", json=load(name))
    balance = client.balance()
    assert balance.amount == Decimal("1326.13")
    assert isinstance(balance.amount, Decimal)
    assert balance.currency == "DZD"
    assert balance.timestamp == datetime(2025, 10, 29, 0, 35, 58, 710000, tzinfo=UTC)


def test_transactions(client, mocked):
    mocked.get(f"{BASE}/account/transactions", json=load("2.3-transactions"))
    page = client.transactions(page=1, page_size=20)
    assert mocked.calls[0].request.params == {"page": "1", "pageSize": "20"}
    [row] = page.items
    assert row.id == "string"
    assert row.type == "ADSL"
    assert row.amount == Decimal("980")
    assert row.old_balance == Decimal("2306.13")
    assert row.new_balance == Decimal("1326.13")
    assert row.time == aware("2025-10-29T00:00:00.000Z")
    assert row.time.tzinfo is not None
    assert (page.page, page.page_size, page.total_pages, page.total_items) == (1, 20, 10, 195)


def test_date_filters_are_sent_as_utc_z(client, mocked):
    from zoneinfo import ZoneInfo

    mocked.get(f"{BASE}/internet/list", json=load("3.6-list-topups-meta-pagination"))
    algiers = ZoneInfo("Africa/Algiers")
    client.list_topups(
        from_=datetime(2025, 10, 1, 1, 0, tzinfo=algiers), to=datetime(2025, 11, 1, 0, 59, 59, tzinfo=algiers)
    )
    assert mocked.calls[0].request.params == {
        "page": "1",
        "pageSize": "20",
        "from": "2025-10-01T00:00:00.000Z",
        "to": "2025-10-31T23:59:59.000Z",
    }


# Section 3 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["3.1-products", "3.1-products-meta-type", "3.1-products-bare-list"])
def test_products_in_every_documented_shape(client, mocked, name):
    mocked.get(f"{BASE}/internet/products", json=load(name))
    result = client.internet_products("ADSL")
    assert mocked.calls[0].request.params == {"type": "ADSL"}
    assert result.type is LineType.ADSL
    assert [(p.value, p.cost, p.available) for p in result.products] == [
        (Decimal(500), Decimal(490), True),
        (Decimal(1000), Decimal(980), True),
        (Decimal(2000), Decimal(1960), True),
        (Decimal(5000), Decimal(4900), False),
    ]
    assert all(isinstance(p.cost, Decimal) for p in result.products)


def test_products_duplicate_values_are_kept(client, mocked):
    mocked.get(f"{BASE}/internet/products", json=load("3.1-products-duplicate-value"))
    result = client.internet_products(LineType.LTE)
    assert mocked.calls[0].request.params == {"type": "4G"}
    assert result.type is LineType.LTE
    assert [(p.value, p.cost, p.available) for p in result.products] == [
        (Decimal(1000), Decimal(980), True),
        (Decimal(1000), Decimal(990), False),
    ]


def test_check_number_adsl(client, mocked):
    mocked.get(f"{BASE}/internet/check-number", json=load("3.2-check-number-adsl"))
    check = client.check_number("ADSL", "036362608")
    assert mocked.calls[0].request.params == {"type": "ADSL", "number": "036362608"}
    assert (check.ncli, check.type, check.offre, check.raw_type) == (
        "11022*****",
        LineType.ADSL,
        "FTTc-b_10M'",
        "ADSL",
    )


def test_check_number_4g_answers_4glte(client, mocked):
    mocked.get(f"{BASE}/internet/check-number", json=load("3.2-check-number-4g"))
    check = client.check_number("4G", "213665983439")
    assert mocked.calls[0].request.params == {"type": "4G", "number": "213665983439"}
    assert check.type is LineType.LTE
    assert check.raw_type == "4GLTE"
    assert check.offre == ""


def test_check_number_invalid(client, mocked):
    mocked.get(f"{BASE}/internet/check-number", json=load("3.2-check-number-invalid"), status=400)
    with pytest.raises(PhoneError) as info:
        client.check_number("ADSL", "031417237")
    assert info.value.details["reason"] == "Number does not match required format"
    assert info.value.request_id is None  # this example has no requestId


def test_send(client, mocked):
    mocked.post(
        f"{BASE}/internet/send",
        json=load("3.3-send"),
        match=[
            responses.matchers.json_params_matcher({"type": "ADSL", "number": "036362608", "value": 1000})
        ],
    )
    result = client.send_topup(line_type="ADSL", number="036362608", value=Decimal("1000.00"))
    assert result.topup_id == "690161a3e9e88196b4eb6545"
    assert result.topup_ref == "API-+213665983439-test-internet-1761698210633"
    request = mocked.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    assert b'"value": 1000' in request.body  # an int, not 1000.0


def test_send_with_own_ref(client, mocked):
    mocked.post(
        f"{BASE}/internet/send",
        json=load("3.3-send-own-ref"),
        match=[
            responses.matchers.json_params_matcher(
                {"type": "4G", "number": "213665983439", "value": 500, "ref": "order-123456"}
            )
        ],
    )
    result = client.send_topup(line_type=LineType.LTE, number="213665983439", value=500, ref="order-123456")
    assert result.topup_ref == "order-123456"


def test_check_id_handling(client, mocked):
    mocked.get(f"{BASE}/internet/check-id/6901616fe9e88196b4eb64b2", json=load("3.4-check-id-handling"))
    topup = client.check_id("6901616fe9e88196b4eb64b2")
    assert topup.status is TopupStatus.HANDLING
    assert not topup.status.is_final
    assert topup.type is LineType.ADSL
    assert topup.value == Decimal(1000)
    assert topup.created_at == datetime(2025, 11, 1, 12, 0, tzinfo=UTC)
    assert (topup.card_code, topup.num_trans, topup.processed_at) == ("", "", None)


def test_check_id_fulfilled(client, mocked):
    mocked.get(f"{BASE}/internet/check-id/6901616fe9e88196b4eb64b2", json=load("3.4-check-id-fulfilled"))
    topup = client.check_id("6901616fe9e88196b4eb64b2")
    assert topup.id == "6901616fe9e88196b4eb64b2"
    assert topup.ref == "internet-order-001"
    assert topup.status is TopupStatus.FULFILLED
    assert topup.card_code == "123456789012"
    assert topup.num_trans == "AT-2025-12345"
    assert topup.processed_at == datetime(2025, 10, 29, 1, 5, 30, tzinfo=UTC)
    assert topup.created_at == datetime(2025, 10, 29, 1, 0, tzinfo=UTC)
    assert "123456789012" not in repr(topup)


def test_unknown_status_is_kept(client, mocked):
    body = load("3.4-check-id-handling")
    body["data"]["status"] = "ON_HOLD"  # (UNKNOWN_ERROR is documented, for mobile top-ups)
    mocked.get(f"{BASE}/internet/check-id/6901616fe9e88196b4eb64b2", json=body)
    topup = client.check_id("6901616fe9e88196b4eb64b2")
    assert topup.status.value == "ON_HOLD"
    assert not topup.status.is_known


def test_check_ref_quotes_the_ref_in_the_path(client, mocked):
    body = load("3.4-check-id-fulfilled")
    mocked.get(f"{BASE}/internet/check-ref/order%2F1%20%3F%23", json=body)
    topup = client.check_ref("order/1 ?#")
    assert topup.ref == "internet-order-001"
    assert mocked.calls[0].request.path_url == "/v3/internet/check-ref/order%2F1%20%3F%23"


def test_check_ref_not_found(client, mocked):
    mocked.get(f"{BASE}/internet/check-ref/order-12345", json=load("3.5-check-ref-not-found"), status=404)
    with pytest.raises(NotFound) as info:
        client.check_ref("order-12345")
    assert info.value.message == "Top-up with reference 'order-12345' not found"


def test_list_topups_with_meta_pagination(client, mocked):
    mocked.get(f"{BASE}/internet/list", json=load("3.6-list-topups-meta-pagination"))
    page = client.list_topups(page=1, page_size=20)
    [topup] = page.items
    assert topup.status is TopupStatus.FULFILLED
    assert topup.value == Decimal(1000)
    assert (page.page, page.page_size, page.total_pages, page.total_items) == (1, 20, 5, 87)
    assert page.has_next


def test_list_topups_with_items_and_data_pagination(client, mocked):
    mocked.get(f"{BASE}/internet/list", json=load("3.6-list-items-data-pagination"))
    page = client.list_topups(page=2, page_size=2)
    first, second = page.items
    assert first.type is LineType.ADSL
    assert second.type is LineType.LTE  # "4GLTE" in the payload
    assert second.status is TopupStatus.QUEUED
    assert second.card_code == ""
    assert second.value == Decimal(2000)
    assert (page.page, page.page_size, page.total_pages, page.total_items) == (2, 2, 2, 4)
    assert not page.has_next


def test_iter_topups_walks_every_page(client, mocked):
    first = load("3.6-list-topups-meta-pagination")
    first["meta"]["pagination"] = {"currentPage": 1, "totalPages": 2, "totalItems": 3, "hasNextPage": True}
    mocked.get(
        f"{BASE}/internet/list",
        json=first,
        match=[responses.matchers.query_param_matcher({"page": "1", "pageSize": "100"})],
    )
    mocked.get(
        f"{BASE}/internet/list",
        json=load("3.6-list-items-data-pagination"),
        match=[responses.matchers.query_param_matcher({"page": "2", "pageSize": "100"})],
    )
    refs = [t.ref for t in client.iter_topups()]
    assert refs == ["internet-order-001", "internet-order-001", "order-4g-1"]


def test_money_is_never_a_float(client, mocked):
    body = load("2.2-balance")
    body["data"]["balance"] = 0.1
    mocked.get(f"{BASE}/account/balance", json=body)
    assert client.balance().amount == Decimal("0.1")


def test_unknown_fields_are_ignored_and_meta_is_optional(client, mocked):
    body = {"success": True, "data": {"balance": "12.50", "newThing": [1, 2]}, "extra": True}
    mocked.get(f"{BASE}/account/balance", json=body)
    balance = client.balance()
    assert balance.amount == Decimal("12.50")
    assert balance.timestamp is None


def test_success_without_required_field_is_bad_response_on_get(client, mocked):
    mocked.get(
        f"{BASE}/internet/check-id/abc", json={"success": True, "data": {"ref": "x"}, "requestId": "req_9_z"}
    )
    with pytest.raises(BadResponse) as info:
        client.check_id("abc")
    assert info.value.http_status == 200
    assert info.value.request_id == "req_9_z"
