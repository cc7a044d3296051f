"""The simulator's mobile top-ups over HTTP: plans, validation, debit, lifecycle, lookups, list."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from tests.simulator.calls import keyed_caller
from topups.simulator.testing import serve_in_thread

KEY = "mobile-test-key"


@pytest.fixture(scope="module")
def server():
    with serve_in_thread(keys={KEY: None}) as running:
        yield running


@pytest.fixture
def api(server):
    with keyed_caller(server, KEY) as call:
        yield call


def send(api, plan="PREPAID_DJEZZY", number="0778037340", amount=1000, ref="M-1"):
    body = {"plan_code": plan, "MSSIDN": number, "ref": ref}
    if amount is not None:
        body["amount"] = amount
    return api("POST", "/mobile/send", json=body)


def test_plans_list_both_kinds(api):
    status, body = api("GET", "/mobile/plans")
    assert status == 200
    dynamic = {p["code"]: p for p in body["data"]["dynamicPlans"]}
    fixed = {p["code"]: p for p in body["data"]["fixedPlans"]}
    assert dynamic["PREPAID_DJEZZY"]["min_amount"] == 100 and "cost" not in dynamic["GROS_MOBILIS"]
    assert fixed["PIXX_500"]["amount"] == 500 and dynamic["FACTURE_OOREDOO"]["isEnabled"] is False


def test_a_send_debits_amount_times_cost_with_a_flexy_row(api):
    status, body = send(api)
    assert status == 200 and body["data"]["topupRef"] == "M-1"
    assert Decimal(str(body["data"]["newBalance"])) == Decimal("100000") - Decimal("992.50")
    row = api.sim.ledger()[-1]
    assert (row["type"], row["amount"], row["objid"]) == ("FLEXY", Decimal("992.50"), body["data"]["topupId"])
    status, found = api("GET", "/mobile/check-ref/M-1")
    assert found["data"]["status"] == "PENDING" and found["data"]["MSSIDN"] == "0778037340"
    api.sim.advance(1)
    assert api("GET", f"/mobile/check-id/{body['data']['topupId']}")[1]["data"]["status"] == "HANDLING"
    api.sim.advance(5)
    data = api("GET", "/mobile/check-ref/M-1")[1]["data"]
    assert (data["status"], data["topup_amount"], data["balance_amount"]) == ("FULFILLED", 1000, 992.5)


def test_the_full_amount_rule_and_a_plan_without_cost(api):
    api.sim.configure(mobile_debit="full")
    send(api)
    assert api.sim.ledger()[-1]["amount"] == Decimal(1000)
    api.sim.configure(mobile_debit="multiplier", mobile_send_new_balance=False)
    status, body = send(api, plan="GROS_MOBILIS", number="0661234567", amount=6000, ref="M-2")
    assert status == 200 and "newBalance" not in body["data"]
    assert api.sim.ledger()[-1]["amount"] == Decimal(6000)


@pytest.mark.parametrize(("plan", "number", "amount", "field"), [
    ("PREPAID_DJEZZY", "778037340", 1000, "MSSIDN"),
    ("PREPAID_DJEZZY", 778037340, 1000, "MSSIDN"),
    ("PREPAID_DJEZZY", "0661234567", 1000, "MSSIDN"),  # a Mobilis number
    ("PREPAID_DJEZZY", "0778037340", 50, "amount"),
    ("PREPAID_DJEZZY", "0778037340", 20000, "amount"),
    ("PREPAID_DJEZZY", "0778037340", None, "amount"),
    ("FACTURE_OOREDOO", "0551234567", 1000, "plan_code"),  # disabled
    ("NOPE", "0551234567", 1000, "plan_code"),
])
def test_bad_sends_are_refused_with_err_validation_and_no_debit(api, plan, number, amount, field):
    status, body = send(api, plan=plan, number=number, amount=amount)
    assert (status, body["error"]["code"], body["error"]["details"]["field"]) == (400, "ERR_VALIDATION", field)
    assert api.sim.stats()["total_debited"] == 0


def test_a_duplicate_ref_is_refused_and_an_unknown_ref_is_not_found(api):
    send(api)
    status, body = send(api, amount=2000)
    assert (status, body["error"]["code"]) == (403, "DUPLICATED_REF")
    status, body = api("GET", "/mobile/check-ref/NOPE")
    assert (status, body["error"]["code"]) == (404, "NOT_FOUND")
    assert api("GET", "/internet/check-ref/M-1")[0] == 404  # each service its own lookups


def test_refunded_with_message_and_suggested_offers(api):
    send(api, number="0600000001", plan="PREPAID_MOBILIS", ref="R-1")
    send(api, number="0600000002", plan="PREPAID_MOBILIS", ref="R-2")
    send(api, number="0770000002", plan="PREPAID_DJEZZY", ref="R-3")  # any network, any third digit
    api.sim.advance(10)
    plain = api("GET", "/mobile/check-ref/R-1")[1]["data"]
    offered = api("GET", "/mobile/check-ref/R-2")[1]["data"]
    assert plain["status"] == "REFUNDED" and plain["refund_message"] and "suggested_offers" not in plain
    assert offered["status"] == "REFUNDED" and offered["suggested_offers"][0]["plan_code"]
    djezzy = api("GET", "/mobile/check-ref/R-3")[1]["data"]
    assert {offer["plan_code"] for offer in djezzy["suggested_offers"]} <= {"FACTURE_DJEZZY", "MIX1000_DJEZZY"}
    refunds = [row for row in api.sim.ledger() if row["type"] == "REFUND-FLEXY"]
    assert [row["amount"] for row in refunds] == [Decimal("960.00"), Decimal("960.00"), Decimal("992.50")]
    assert api.sim.balance == Decimal(100000)


@pytest.mark.parametrize(("number", "final"), [("0700000003", "FULFILLED"), ("0700000004", "REFUNDED")])
def test_unknown_error_resolves_either_way(api, number, final):
    send(api, number=number)
    api.sim.advance(10)
    data = api("GET", "/mobile/check-ref/M-1")[1]["data"]
    assert data["status"] == "UNKNOWN_ERROR" and data["refund_message"]
    assert api.sim.balance == Decimal(100000) - Decimal("992.50")  # not refunded while unknown
    api.sim.advance(3600)
    assert api("GET", "/mobile/check-ref/M-1")[1]["data"]["status"] == final
    assert api.sim.balance == (Decimal(100000) if final == "REFUNDED" else Decimal(100000) - Decimal("992.50"))


def test_a_getmenu_plan_charges_nothing_and_answers_the_menu(api):
    status, _body = send(api, plan="GETMENU_Djezzy", amount=None)
    assert status == 200
    api.sim.advance(10)
    data = api("GET", "/mobile/check-ref/M-1")[1]["data"]
    assert data["status"] == "REFUNDED" and data["suggested_offers"] and data["balance_amount"] == 0
    assert api.sim.stats()["total_debited"] == 0


def test_the_list_pages_mobile_top_ups_only(api):
    for index in range(3):
        send(api, ref=f"L-{index}")
    api.sim.place_elsewhere()  # an internet order
    status, body = api("GET", "/mobile/list", params={"page": 1, "pageSize": 2})
    assert body["data"]["pagination"] == {"page": 1, "pageSize": 2, "totalPages": 2, "totalResults": 3}
    assert [item["ref"] for item in body["data"]["items"]] == ["L-2", "L-1"]


def test_faults_apply_to_mobile_endpoints(api):
    api.sim.inject_fault("mobile-send", "error_500_after")
    status, _body = send(api)
    assert status == 500 and api.sim.stats()["refs"]["M-1"] == {"orders": 1, "attempts": 1}


def test_plans_are_controlled_over_http(server, api):
    control = server.control_url + "/plans"
    assert requests.post(control, json={"code": "PIXX_500", "enabled": False}, timeout=5).json()["data"][
        "isEnabled"] is False
    requests.delete(control, json={"code": "MIX1000_DJEZZY"}, timeout=5)
    plans = api("GET", "/mobile/plans")[1]["data"]
    assert {p["code"]: p["isEnabled"] for p in plans["fixedPlans"]}.get("PIXX_500") is False
    assert "MIX1000_DJEZZY" not in {p["code"] for p in plans["fixedPlans"]}
    assert requests.post(control, json={"code": "NOPE"}, timeout=5).status_code == 400
