"""The simulator over real HTTP: envelope, auth, validation, orders, lifecycle, lists.

Driven with plain ``requests`` (not the project's client) so these tests pin down what the
simulator answers, whatever the client does with it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from topups.simulator import serve_in_thread

KEY = "sim-test-key-0001"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
REQUEST_ID = re.compile(r"^req_\d{10}_[a-z0-9]+$")
HEX_ID = re.compile(r"^[0-9a-f]{24}$")


class Api:
    """A few lines over requests.Session so each test reads as the calls it makes."""

    def __init__(self, running, key: str | None = KEY) -> None:
        self.running = running
        self.sim = running.simulator
        self.session = requests.Session()
        if key is not None:
            self.session.headers["X-Access-Token"] = key

    def get(self, path: str, **params) -> requests.Response:
        return self.session.get(self.running.url + path, params=params, timeout=5)

    def post(self, path: str, body=None, **kwargs) -> requests.Response:
        return self.session.post(self.running.url + path, json=body, timeout=5, **kwargs)

    def send(self, number: str = "036362608", value=1000, line_type: str = "ADSL", **extra) -> requests.Response:
        return self.post("/internet/send", {"type": line_type, "number": number, "value": value, **extra})

    def status(self, topup_id: str) -> dict:
        return self.get(f"/internet/check-id/{topup_id}").json()["data"]


@pytest.fixture
def running():
    with serve_in_thread(keys={KEY: {"type": "SANDBOX"}}) as running:
        yield running


@pytest.fixture
def api(running):
    client = Api(running)
    yield client
    client.session.close()


def error_of(response: requests.Response) -> dict:
    body = response.json()
    assert body["success"] is False
    assert REQUEST_ID.match(body["requestId"])
    return body["error"]


# -- envelope ---------------------------------------------------------------------------------------


def test_success_envelope_has_data_meta_timestamp_and_request_id(api):
    body = api.get("/account/balance").json()
    assert body["success"] is True
    assert body["data"]["balance"] == 100000
    assert TIMESTAMP.match(body["meta"]["timestamp"])
    assert REQUEST_ID.match(body["requestId"])


def test_unknown_path_is_a_404_envelope(api):
    response = api.get("/internet/nothing-here")
    assert response.status_code == 404
    assert error_of(response)["code"] == "NOT_FOUND"


def test_decimal_balance_is_a_json_number(api):
    api.sim.set_balance("1326.13")
    assert '"balance":1326.13' in api.get("/account/balance").text


def test_ping_needs_no_key_and_reports_health_flags(running):
    anonymous = Api(running, key=None)
    assert anonymous.get("/ping").json()["data"] == {
        "api": "ok", "operators": {"mobilis": "up", "ooredoo": "up", "djezzy": "up", "mobilisFixedPlans": "up"},
    }
    running.simulator.set_health(api="error", operators={"djezzy": "down"})
    data = anonymous.get("/ping").json()["data"]
    assert data["api"] == "error" and data["operators"]["djezzy"] == "down"


# -- auth -------------------------------------------------------------------------------------------


def test_validate_reports_the_key_without_echoing_it(api):
    response = api.get("/validate")
    data = response.json()["data"]
    assert data["username"] == "+213665983439"
    assert data["apiKey"]["type"] == "SANDBOX" and data["apiKey"]["scope"] == "READ-WRITE"
    assert data["apiKey"]["allowedips"] == [] and data["apiKey"]["isEnabled"] is True
    assert KEY not in response.text


def test_missing_key_is_401_by_default_and_400_when_configured(running):
    anonymous = Api(running, key=None)
    response = anonymous.get("/account/balance")
    assert response.status_code == 401
    assert error_of(response)["code"] == "MISSING_ACCESS_TOKEN"
    running.simulator.configure(missing_token_status=400)
    assert anonymous.get("/account/balance").status_code == 400


def test_wrong_key_counts_down_then_blocks_the_ip_even_for_the_right_key(running, api):
    intruder = Api(running, key="wrong-key")
    left = []
    for _ in range(5):
        response = intruder.get("/account/balance")
        assert response.status_code == 401
        error = error_of(response)
        assert error["code"] == "INVALID_ACCESS_TOKEN"
        left.append(error["details"]["attemptsLeft"])
    assert left == [4, 3, 2, 1, 0]
    blocked = api.get("/account/balance")
    assert blocked.status_code == 403
    assert error_of(blocked)["code"] == "IP_BLOCKED"
    assert "wrong-key" not in blocked.text

    running.simulator.advance(899)
    assert api.get("/account/balance").status_code == 403
    running.simulator.advance(2)
    assert api.get("/account/balance").status_code == 200
    assert error_of(intruder.get("/account/balance"))["details"]["attemptsLeft"] == 4
    failures = running.simulator.stats()["auth_failures"]
    assert failures["invalid"] == 6 and failures["blocked"] == 2


def test_block_period_is_configurable(running, api):
    running.simulator.configure(block_seconds=10)
    intruder = Api(running, key="wrong-key")
    for _ in range(5):
        intruder.get("/validate")
    assert api.get("/validate").status_code == 403
    running.simulator.advance(10)
    assert api.get("/validate").status_code == 200


def test_ip_whitelist(running):
    running.simulator.add_key("elsewhere-key-0001", allowed_ips=["10.9.8.7"])
    running.simulator.add_key("local-key-000001", allowed_ips=["127.0.0.1"])
    refused = Api(running, key="elsewhere-key-0001").get("/account/balance")
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "IP_NOT_ALLOWED"
    assert Api(running, key="local-key-000001").get("/account/balance").status_code == 200


def test_read_only_key_can_read_but_not_send(running):
    running.simulator.add_key("read-only-key-01", scope="READ-ONLY", type="PRODUCTION")
    reader = Api(running, key="read-only-key-01")
    assert reader.get("/account/balance").status_code == 200
    response = reader.send()
    assert response.status_code == 403
    assert error_of(response)["code"] == "FORBIDDEN"
    assert running.simulator.stats()["orders"] == 0


def test_sandbox_and_production_keys_share_one_balance(running, api):
    running.simulator.add_key("production-key-01", type="PRODUCTION")
    production = Api(running, key="production-key-01")
    assert production.get("/validate").json()["data"]["apiKey"]["type"] == "PRODUCTION"
    api.send(value=500)
    assert production.get("/account/balance").json()["data"]["balance"] == 100000 - 490


# -- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message", "field"),
    [
        ({"number": "036362608", "value": 1000}, "body must have required property 'type'", "type"),
        ({"type": "FIBRE", "number": "036362608", "value": 1000},
         "body/type must be equal to one of the allowed values", "type"),
        ({"type": "ADSL", "value": 1000}, "body must have required property 'number'", "number"),
        ({"type": "ADSL", "number": "+213636362608", "value": 1000}, 'body/number must match pattern "^[0-9]+$"',
         "number"),
        ({"type": "ADSL", "number": "036362608"}, "body must have required property 'value'", "value"),
        ({"type": "ADSL", "number": "036362608", "value": "1000"}, "body/value must be number", "value"),
        ({"type": "ADSL", "number": "036362608", "value": 1234},
         "body/value must be one of the product values for this type", "value"),
        ({"type": "ADSL", "number": "036362608", "value": 1000, "ref": ""},
         "body/ref must NOT have fewer than 1 characters", "ref"),
        ({"type": "ADSL", "number": "036362608", "value": 1000, "ref": 12}, "body/ref must be string", "ref"),
    ],
)
def test_send_validation_errors(api, body, message, field):
    response = api.post("/internet/send", body)
    assert response.status_code == 400
    error = error_of(response)
    assert error == {"code": "ERR_VALIDATION", "message": message, "details": error["details"]}
    assert error["details"]["field"] == field
    assert api.sim.balance == Decimal("100000.00")


def test_send_body_that_is_not_json(api):
    response = api.post("/internet/send", data=b"type=ADSL", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "ERR_VALIDATION"


def test_query_validation(api):
    missing = error_of(api.get("/internet/products"))
    assert missing["message"] == "querystring must have required property 'type'"
    wrong = error_of(api.get("/internet/check-number", type="3G", number="036362608"))
    assert wrong["message"] == "querystring/type must be equal to one of the allowed values"
    assert wrong["details"] == {"field": "type", "value": "3G"}


@pytest.mark.parametrize(
    ("line_type", "number"),
    [("ADSL", "36362608"), ("ADSL", "0363626081"), ("ADSL", "213636362608"), ("4G", "0665983439"),
     ("4G", "665983439"), ("4G", "036362608")],
)
def test_number_in_the_wrong_format_for_its_type_is_err_phone(api, line_type, number):
    for response in (api.get("/internet/check-number", type=line_type, number=number),
                     api.send(number=number, line_type=line_type)):
        assert response.status_code == 400
        assert error_of(response) == {
            "code": "ERR_PHONE",
            "message": f"Invalid phone number for {line_type} service",
            "details": {"number": number, "type": line_type, "reason": "Number does not match required format"},
        }


# -- catalog and check-number -----------------------------------------------------------------------


def test_products_default_catalog(api):
    body = api.get("/internet/products", type="ADSL").json()
    assert body["data"]["type"] == "ADSL" and body["meta"]["type"] == "ADSL"
    assert body["data"]["products"] == [
        {"value": 500, "cost": 490, "available": True},
        {"value": 1000, "cost": 980, "available": True},
        {"value": 2000, "cost": 1960, "available": True},
        {"value": 3000, "cost": 2940, "available": True},
        {"value": 5000, "cost": 4900, "available": False},
    ]
    lte = api.get("/internet/products", type="4G").json()["data"]["products"]
    assert [(p["value"], p["cost"], p["available"]) for p in lte] == [
        (1000, 980, True), (1500, 1470, True), (2000, 1960, True), (3000, 2940, True), (4000, 3920, True),
    ]


def test_check_number_shapes(api):
    adsl = api.get("/internet/check-number", type="ADSL", number="036362608").json()["data"]
    assert set(adsl) == {"ncli", "offre", "type"} and adsl["type"] == "ADSL"
    assert re.fullmatch(r"\d{5}\*{5}", adsl["ncli"])
    lte = api.get("/internet/check-number", type="4G", number="213472731602").json()["data"]
    assert set(lte) == {"ncli", "type"} and lte["type"] == "4GLTE"
    assert re.fullmatch(r"\d{5}\*{5}", lte["ncli"])
    again = api.get("/internet/check-number", type="ADSL", number="036362608").json()["data"]
    assert again == adsl  # deterministic per line


def test_check_number_also_accepts_post_with_json_body(api):
    response = api.post("/internet/check-number", {"type": "4G", "number": "213472731602"})
    assert response.status_code == 200
    assert response.json()["data"]["type"] == "4GLTE"


def test_line_ending_in_99_does_not_exist(api):
    for response in (api.get("/internet/check-number", type="ADSL", number="036362699"),
                     api.send(number="036362699")):
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "ERR_PHONE"
        assert error["details"]["reason"] == "Number not found for this service"
    assert api.sim.stats()["orders"] == 0


# -- send, debit, ledger ----------------------------------------------------------------------------


def test_send_debits_the_cost_and_writes_a_ledger_row(api):
    response = api.send(number="213472731602", value=1500, line_type="4G", ref="order-1")
    assert response.status_code == 200
    data = response.json()["data"]
    assert HEX_ID.match(data["topupId"]) and data["topupRef"] == "order-1"
    assert api.get("/account/balance").json()["data"]["balance"] == 98530
    row = api.get("/account/transactions").json()["data"]["items"][0]
    assert row["type"] == "ADSL" and row["operation"] == "decrement"
    assert (row["amount"], row["oldBalance"], row["newBalance"]) == (1470, 100000, 98530)
    assert row["objid"] == data["topupId"] and HEX_ID.match(row["_id"]) and TIMESTAMP.match(row["time"])
    topup = api.status(data["topupId"])
    assert topup["type"] == "4G" and topup["topup_amount"] == 1500 and topup["status"] == "HANDLING"


def test_duplicated_ref_is_refused_without_debit_and_original_unchanged(api):
    first = api.send(ref="order-42", value=500).json()["data"]
    before = api.status(first["topupId"])
    response = api.send(ref="order-42", value=2000, number="031417237")
    assert response.status_code == 403
    assert error_of(response)["code"] == "DUPLICATED_REF"
    assert api.sim.balance == Decimal("100000.00") - 490
    assert api.get("/internet/check-ref/order-42").json()["data"] == before
    assert api.sim.stats()["refs"]["order-42"] == {"orders": 1, "attempts": 2}


def test_duplicated_ref_wins_over_stock_and_balance_refusals(api):
    api.send(ref="order-43", value=500)
    api.sim.set_stock("ADSL", 500, False)
    api.sim.set_balance(0)
    assert error_of(api.send(ref="order-43", value=500))["code"] == "DUPLICATED_REF"


def test_generated_refs_are_unique_and_usable_in_check_ref(api):
    refs = [api.send().json()["data"]["topupRef"] for _ in range(5)]
    assert len(set(refs)) == 5
    for ref in refs:
        assert re.fullmatch(r"API-\+213665983439-\d{13}", ref)
        assert api.get(f"/internet/check-ref/{ref}").json()["data"]["ref"] == ref


def test_ref_is_url_decoded_in_check_ref(api):
    api.send(ref="shop/2026 #7")
    response = api.get("/internet/check-ref/shop%2F2026%20%237")
    assert response.json()["data"]["ref"] == "shop/2026 #7"


def test_out_of_stock_and_insufficient_balance(api):
    response = api.send(value=5000)
    assert response.status_code == 400
    assert error_of(response)["code"] == "ERR_STOCK"
    api.sim.set_balance(100)
    response = api.send(value=500)
    assert response.status_code == 403
    assert error_of(response)["details"] == {"required": 490, "available": 100}
    assert api.sim.stats()["orders"] == 0


def test_unknown_id_and_ref_are_not_found(api):
    response = api.get("/internet/check-ref/order-404")
    assert response.status_code == 404
    assert error_of(response) == {"code": "NOT_FOUND", "message": "Top-up with reference 'order-404' not found"}
    assert api.get("/internet/check-id/6901616fe9e88196b4eb64b2").status_code == 404


# -- lifecycle --------------------------------------------------------------------------------------


def test_ordinary_line_is_fulfilled_after_fulfil_after(api):
    topup_id = api.send(number="036362608").json()["data"]["topupId"]
    api.sim.advance(2.5)
    assert api.status(topup_id)["status"] == "HANDLING"
    api.sim.advance(0.6)
    topup = api.status(topup_id)
    assert topup["status"] == "FULFILLED"
    assert re.fullmatch(r"\d{12}", topup["card_code"])
    assert re.fullmatch(r"AT-\d{4}-\d{5}", topup["num_trans"])
    processed = datetime.fromisoformat(topup["date_traitement"])
    created = datetime.fromisoformat(topup["created_at"])
    assert processed - created == timedelta(seconds=3)
    assert api.status(topup_id) == topup  # card fields are stable across reads


def test_line_ending_in_90_is_refunded_and_credited_exactly_once(api):
    topup_id = api.send(number="036362690", value=2000).json()["data"]["topupId"]
    assert api.sim.balance == Decimal("98040.00")
    api.sim.advance(3)
    topup = api.status(topup_id)
    assert topup["status"] == "REFUNDED" and "card_code" not in topup
    for _ in range(3):
        api.status(topup_id)
        api.get("/internet/list")
        api.sim.advance(100)
    assert api.get("/account/balance").json()["data"]["balance"] == 100000
    refunds = [row for row in api.sim.ledger() if row["type"] == "REFUND-ADSL"]
    assert len(refunds) == 1
    assert (refunds[0]["operation"], refunds[0]["amount"], refunds[0]["objid"]) == ("increment", 1960, topup_id)
    stats = api.sim.stats()
    assert stats["total_debited"] == stats["total_refunded"] == Decimal("1960")


def test_balance_reflects_a_refund_even_if_nobody_reads_the_order(api):
    api.send(number="036362690", value=500)
    api.sim.advance(10)
    assert api.get("/account/balance").json()["data"]["balance"] == 100000


def test_line_ending_in_91_is_queued_then_fulfilled(api):
    topup_id = api.send(number="213472731691", line_type="4G").json()["data"]["topupId"]
    api.sim.advance(3)
    assert api.status(topup_id)["status"] == "QUEUED"
    api.sim.advance(119)
    assert api.status(topup_id)["status"] == "QUEUED"
    api.sim.advance(1.1)
    assert api.status(topup_id)["status"] == "FULFILLED"


def test_line_ending_in_92_is_queued_then_refunded(api):
    topup_id = api.send(number="036362692", value=500).json()["data"]["topupId"]
    api.sim.advance(3)
    assert api.status(topup_id)["status"] == "QUEUED"
    assert api.sim.balance == Decimal("100000.00") - 490
    api.sim.advance(120)
    assert api.status(topup_id)["status"] == "REFUNDED"
    assert api.sim.balance == Decimal("100000.00")


def test_line_ending_in_93_is_slow(api):
    topup_id = api.send(number="036362693").json()["data"]["topupId"]
    api.sim.advance(59)
    assert api.status(topup_id)["status"] == "HANDLING"
    api.sim.advance(1.1)
    assert api.status(topup_id)["status"] == "FULFILLED"


def test_timings_are_configurable(running):
    running.simulator.configure(fulfil_after=0, queue_for=5)
    api = Api(running)
    assert api.status(api.send().json()["data"]["topupId"])["status"] == "FULFILLED"
    queued = api.send(number="036362691").json()["data"]["topupId"]
    assert api.status(queued)["status"] == "QUEUED"
    running.simulator.advance(5)
    assert api.status(queued)["status"] == "FULFILLED"


def test_outcome_override_by_number_and_by_ref(api):
    api.sim.set_outcome(number="036362608", outcome="REFUNDED")
    api.sim.set_outcome(ref="order-q", outcome="QUEUED_THEN_FULFILLED")
    api.sim.set_outcome(number="031417237", outcome="UNKNOWN_LINE")
    by_number = api.send(number="036362608").json()["data"]["topupId"]
    by_ref = api.send(number="036362608", ref="order-q").json()["data"]["topupId"]
    assert error_of(api.send(number="031417237"))["details"]["reason"] == "Number not found for this service"
    api.sim.advance(3)
    assert api.status(by_number)["status"] == "REFUNDED"
    assert api.status(by_ref)["status"] == "QUEUED"


# -- lists ------------------------------------------------------------------------------------------


def test_list_pagination_newest_first_with_documented_shape(api):
    ids = [api.send(ref=f"order-{i:02d}").json()["data"]["topupId"] for i in range(25)]
    first = api.get("/internet/list").json()
    assert [t["_id"] for t in first["data"]["topups"]] == ids[::-1][:20]
    assert first["meta"]["pagination"] == {"currentPage": 1, "totalPages": 2, "totalItems": 25, "hasNextPage": True}
    second = api.get("/internet/list", page=2).json()
    assert [t["_id"] for t in second["data"]["topups"]] == ids[::-1][20:]
    assert second["meta"]["pagination"]["hasNextPage"] is False
    beyond = api.get("/internet/list", page=9, pageSize=10).json()
    assert beyond["data"]["topups"] == [] and beyond["meta"]["pagination"]["totalPages"] == 3


def test_list_switchable_to_standard_shape(api):
    api.sim.configure(list_shape="items")
    for i in range(3):
        api.send(ref=f"order-{i}")
    body = api.get("/internet/list", pageSize=2).json()
    assert [t["ref"] for t in body["data"]["items"]] == ["order-2", "order-1"]
    assert body["data"]["pagination"] == {"page": 1, "pageSize": 2, "totalPages": 2, "totalResults": 3}
    assert "pagination" not in body["meta"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"page": 0}, "page"), ({"page": "x"}, "page"), ({"pageSize": 0}, "pageSize"), ({"pageSize": 101}, "pageSize"),
     ({"from": "2026-01-01T00:00:00Z"}, "to"), ({"to": "2026-01-01T00:00:00Z"}, "from"),
     ({"from": "yesterday", "to": "2026-01-01T00:00:00Z"}, "from")],
)
@pytest.mark.parametrize("path", ["/internet/list", "/account/transactions"])
def test_pagination_validation(api, path, params, field):
    response = api.get(path, **params)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "ERR_VALIDATION" and error["details"]["field"] == field


def test_from_to_window_is_inclusive(api):
    refs = []
    for i in range(4):
        refs.append(api.send(ref=f"day-{i}").json()["data"]["topupRef"])
        api.sim.advance(86400)
    created = [datetime.fromisoformat(api.get(f"/internet/check-ref/{r}").json()["data"]["created_at"]) for r in refs]
    window = {"from": created[1].isoformat(), "to": created[2].isoformat()}
    listed = api.get("/internet/list", **window).json()["data"]["topups"]
    assert [t["ref"] for t in listed] == ["day-2", "day-1"]
    rows = api.get("/account/transactions", **window).json()["data"]["items"]
    assert len(rows) == 2


def test_transactions_standard_shape_newest_first(api):
    api.send(value=500)
    api.send(value=1000)
    body = api.get("/account/transactions", pageSize=1).json()
    assert body["data"]["pagination"] == {"page": 1, "pageSize": 1, "totalPages": 2, "totalResults": 2}
    assert body["data"]["items"][0]["amount"] == 980
    assert api.get("/account/transactions", page=3).json()["data"]["items"] == []


def test_set_balance_is_explained_by_the_ledger(api):
    api.sim.set_balance(500)
    row = api.get("/account/transactions").json()["data"]["items"][0]
    assert (row["type"], row["operation"], row["amount"], row["newBalance"]) == ("WITHDRAW", "decrement", 99500, 500)
    assert datetime.fromisoformat(row["time"]).tzinfo == UTC


def test_a_refund_written_after_a_newer_row_keeps_the_ledger_in_chain_order(api):
    """A refund falls due between a call's settling and the time of that call's own row, so it is
    written after a newer row: it takes that row's time, and the ledger read by time (as a client
    reads it) is still the balance chain."""
    api.send(number="036362690", value=500)
    with api.sim._lock:
        api.sim._move(Decimal(490), "REFUND-ADSL", "increment", objid="late", note="a refund settled late",
                      moment=api.sim.clock.now() - timedelta(seconds=5))
    rows = sorted(api.sim.ledger(), key=lambda row: row["time"])  # stable: rows of one time keep their order
    assert rows[-1]["objid"] == "late" and rows[-1]["time"] == rows[-2]["time"]
    for before, row in zip(rows, rows[1:], strict=False):
        assert row["oldBalance"] == before["newBalance"], (before, row)
