"""Every documented shape of a mobile answer is read (API notes 4.1-4.3 and Appendix C)."""

from __future__ import annotations

from decimal import Decimal

from topups.oneclick import TopupStatus
from topups.oneclick.parsing import parse_plans, parse_send_result, parse_topup


def test_plans_of_both_kinds_with_and_without_cost():
    plans = {p.code: p for p in parse_plans({
        "dynamicPlans": [
            {"code": "PREPAID_DJEZZY", "name": "📱 PREPAID | عادي", "operator": "Djezzy", "cost": 0.9925,
             "isEnabled": True, "min_amount": 100, "max_amount": 10000},
            {"code": "GROS_MOBILIS", "name": "📱 GROS MOBILIS | جملة", "operator": "GMobilis", "isEnabled": True,
             "min_amount": 5000, "max_amount": 300000},
            {"name": "no code: left out"},
        ],
        "fixedPlans": [{"code": "PIXX_500", "name": "Pixx 500 DA", "operator": "Pixx", "cost": 0.97,
                        "isEnabled": False, "amount": 500}],
    })}
    assert set(plans) == {"PREPAID_DJEZZY", "GROS_MOBILIS", "PIXX_500"}
    assert plans["PREPAID_DJEZZY"].multiplier == Decimal("0.9925") and plans["GROS_MOBILIS"].multiplier is None
    assert (plans["PIXX_500"].kind, plans["PIXX_500"].amount, plans["PIXX_500"].is_enabled) == ("fixed", 500, False)


def test_the_send_answer_with_or_without_new_balance():
    assert parse_send_result({"topupId": "a" * 24, "topupRef": "order-12345"}).topup_ref == "order-12345"
    assert parse_send_result({"topupId": "a" * 24, "topupRef": "r", "newBalance": 826.13}).topup_id == "a" * 24


def test_the_reference_pages_top_up():
    topup = parse_topup({"_id": "6901616fe9e88196b4eb64b0", "ref": "order-12345", "status": "FULFILLED",
                         "plan_code": "PREPAID_DJEZZY", "MSSIDN": "0778037340", "topup_amount": 500,
                         "balance_amount": 490, "created_at": "2025-10-29T00:35:59.378Z"})
    assert (topup.number, topup.value, topup.charged, topup.plan_code) == (
        "0778037340", Decimal(500), Decimal(490), "PREPAID_DJEZZY")


def test_refunded_with_message_and_offers_and_unknown_error():
    topup = parse_topup({"_id": "x", "status": "REFUNDED", "MSSIDN": "0778037340", "topup_amount": 500,
                         "refund_message": "هذا رقم الهاتف لا يقبل العرض المرسل",
                         "suggested_offers": [{"typename": "📋 FACTURE | فاتورة", "plan_code": "FACTURE_DJEZZY",
                                               "amount": 500}, {"typename": "no code"}]})
    assert topup.refund_message and topup.suggested_offers == (
        {"typename": "📋 FACTURE | فاتورة", "plan_code": "FACTURE_DJEZZY", "amount": "500"},)
    assert parse_topup({"_id": "x", "status": "UNKNOWN_ERROR"}).status is TopupStatus.UNKNOWN_ERROR


def test_the_arabic_pages_success_and_failed_statuses():
    assert parse_topup({"_id": "x", "status": "SUCCESS"}).status is TopupStatus.FULFILLED
    assert parse_topup({"_id": "x", "status": "FAILED"}).status is TopupStatus.REFUNDED
    assert parse_topup({"_id": "x", "status": "balance_amount missing"}).charged is None
