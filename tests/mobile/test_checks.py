"""Mobile top-ups ("flexy"): numbers, the cached plans and the checks before an order is created,
through the services and the simulator over HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from topups.lines.mobile import plans as mobile
from topups.models import ApiAccount, MobilePlan, Order, OrderStatus
from topups.services import orders

S = OrderStatus
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("raw", ["0661234567", "+213 661 23 45 67", "00213661234567", "213661234567",
                                 "661234567", "0661-23-45-67", "٠٦٦١٢٣٤٥٦٧"])
def test_every_typed_form_of_a_mobile_number_is_normalised(raw):
    assert mobile.normalise_mobile(raw) == "0661234567"


@pytest.mark.parametrize("raw", ["066123456", "06612345678", "0461234567", "abc", "", "036362608"])
def test_a_number_that_is_not_a_mobile_number_is_refused_with_the_expected_form(raw):
    with pytest.raises(ValidationError) as caught:
        mobile.normalise_mobile(raw)
    assert "10 digits starting with 05" in caught.value.messages[0]


def test_the_wrong_length_is_said():
    with pytest.raises(ValidationError) as caught:
        mobile.normalise_mobile("066123456")
    assert caught.value.messages[0].startswith("9 digits typed.")


def test_the_operator_comes_from_the_prefix():
    assert [mobile.operator_of(n) for n in ("0551234567", "0661234567", "+213 771234567")] == [
        "Ooredoo", "Mobilis", "Djezzy"]


def test_plans_are_fetched_on_first_use_then_served_from_the_cache(sim):
    assert not MobilePlan.objects.exists()
    djezzy = mobile.plans("Djezzy")
    assert {p.code for p in djezzy} == {"PREPAID_DJEZZY", "FACTURE_DJEZZY", "MIX1000_DJEZZY", "GETMENU_Djezzy"}
    mobilis = {p.code for p in mobile.plans("Mobilis")}
    assert {"PIXX_500", "GROS_MOBILIS", "PREPAID_MOBILIS", "MIX500_MOBILIS"} <= mobilis
    every = mobile.plans()
    assert not every[-1].is_enabled and all(p.is_enabled for p in every[:-1])  # enabled first
    assert sim.stats()["calls"]["mobile-plans"] == 1
    plan = MobilePlan.objects.get(code="PREPAID_DJEZZY")
    assert (plan.kind, plan.min_amount, plan.max_amount, plan.multiplier) == (
        "dynamic", Decimal(100), Decimal(10000), Decimal("0.9925"))
    assert MobilePlan.objects.get(code="GROS_MOBILIS").multiplier is None
    assert MobilePlan.objects.get(code="PIXX_500").amount == Decimal(500)


def test_a_sync_removes_vanished_plans_and_follows_changes(sim):
    assert mobile.sync_plans().created == 13
    sim.remove_plan("MIX1000_DJEZZY")
    sim.set_plan("PREPAID_DJEZZY", enabled=False, cost="0.99")
    report = mobile.sync_plans()
    assert (report.removed, report.updated) == (1, 12)
    plan = MobilePlan.objects.get(code="PREPAID_DJEZZY")
    assert not plan.is_enabled and plan.multiplier == Decimal("0.99")
    assert not MobilePlan.objects.filter(code="MIX1000_DJEZZY").exists()


def test_a_failed_plan_fetch_keeps_the_cache(sim):
    mobile.sync_plans()
    synced_at = ApiAccount.objects.get().plans_synced_at
    sim.inject_fault("mobile-plans", "error_500_before", count=10)
    assert not mobile.sync_plans().ok
    assert MobilePlan.objects.count() == 13 and ApiAccount.objects.get().plans_synced_at == synced_at


def test_check_mobile_quotes_a_dynamic_plan(sim):
    quote = mobile.check_mobile("PREPAID_DJEZZY", "+213 778 03 73 40", "1000")
    assert (quote.number, quote.amount, quote.cost, quote.operator) == (
        "0778037340", Decimal(1000), Decimal("992.50"), "Djezzy")
    assert quote.notes == ()


def test_check_mobile_takes_a_fixed_plans_amount(sim):
    quote = mobile.check_mobile("PIXX_500", "0661234567")
    assert (quote.amount, quote.cost) == (Decimal(500), Decimal("485.00"))
    with pytest.raises(mobile.MobileInputError, match="fixed 500 DA"):
        mobile.check_mobile("PIXX_500", "0661234567", 700)


def test_a_plan_without_cost_is_allowed_and_says_the_cost_is_unknown(sim):
    quote = mobile.check_mobile("GROS_MOBILIS", "0661234567", 6000)
    assert quote.cost is None and "known once the API has answered" in quote.notes[0]


def test_a_getmenu_plan_takes_the_number_only(sim):
    quote = mobile.check_mobile("GETMENU_Ooredoo", "0551234567", "999999")
    assert (quote.amount, quote.cost) == (Decimal(0), Decimal(0))


@pytest.mark.parametrize(("plan", "number", "amount", "message"), [
    ("PREPAID_DJEZZY", "0661234567", 1000, "0661234567 is a Mobilis number; the plan"),
    ("PREPAID_DJEZZY", "0778037340", 50, "between 100 and 10000 DA"),
    ("PREPAID_DJEZZY", "0778037340", 20000, "between 100 and 10000 DA"),
    ("PREPAID_DJEZZY", "0778037340", "100.5", "whole number"),
    ("PREPAID_DJEZZY", "0778037340", "abc", "whole number"),
    ("PREPAID_DJEZZY", "0778037340", None, "Type the amount"),
    ("FACTURE_OOREDOO", "0551234567", 1000, "unavailable at the moment"),
    ("NO_SUCH_PLAN", "0551234567", 1000, "no longer offered"),
    ("", "0551234567", 1000, "Choose a plan"),
])
def test_check_mobile_refuses_bad_input_with_a_clear_message(sim, plan, number, amount, message):
    with pytest.raises(mobile.MobileInputError, match=message):
        mobile.check_mobile(plan, number, amount)


def test_a_plan_that_vanished_since_the_form_was_rendered_is_refused(sim, staff):
    mobile.sync_plans()
    sim.remove_plan("PREPAID_OOREDOO")
    mobile.sync_plans()
    with pytest.raises(orders.OrderInputError, match="no longer offered"):
        orders.create_order(service="mobile", plan_code="PREPAID_OOREDOO", number="0551234567",
                            value=Decimal(500), actor=staff)
    assert not Order.objects.exists()


def test_create_order_makes_a_mobile_order(sim, staff):
    order, created = orders.create_order(service="mobile", plan_code="PREPAID_MOBILIS",
                                         number="+213 661 23 45 67", value=Decimal(1000), actor=staff)
    assert created
    order.refresh_from_db()
    assert (order.service, order.line_type, order.plan_code, order.number) == (
        "mobile", "", "PREPAID_MOBILIS", "0661234567")
    assert (order.value, order.cost, order.price, order.status) == (
        Decimal(1000), Decimal("960.00"), Decimal(1000), S.NEW)


def test_the_same_ref_twice_makes_one_mobile_order(sim, staff):
    first, created = orders.create_order(service="mobile", plan_code="PREPAID_MOBILIS", number="0661234567",
                                         value=Decimal(1000), actor=staff, ref="OC-TEST-1")
    again, created_again = orders.create_order(service="mobile", plan_code="PREPAID_MOBILIS",
                                               number="0661234567", value=Decimal(1000), actor=staff,
                                               ref="OC-TEST-1")
    assert created and not created_again and again.pk == first.pk
    with pytest.raises(orders.OrderInputError, match="already used"):
        orders.create_order(service="mobile", plan_code="PREPAID_MOBILIS", number="0661234567",
                            value=Decimal(2000), actor=staff, ref="OC-TEST-1")


def test_existing_orders_are_internet_orders(synced, staff):
    order, _created = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000), actor=staff)
    order.refresh_from_db()
    assert (order.service, order.plan_code, order.cost) == ("internet", "", Decimal(980))


@pytest.mark.parametrize("typed", ["+213 778 03 73 40", "00213778037340", "778037340", "٠٧٧٨٠٣٧٣٤٠"])
def test_the_orders_search_finds_a_mobile_number_in_any_typed_form(sim, staff, typed):
    from topups.selectors import search_q

    order, _created = orders.create_order(service="mobile", plan_code="PREPAID_DJEZZY", number="0778037340",
                                          value=Decimal(1000), actor=staff)
    assert list(Order.objects.filter(search_q(typed))) == [order]


@pytest.mark.parametrize(("status", "plan_code", "answered"), [
    ("fulfilled", "GETMENU_DJEZZY", True), ("refunded", "getmenu_mobilis", True), ("refused", "GETMENU_DJEZZY", False),
    ("refunded", "PREPAID_DJEZZY", False), ("fulfilled", "", False),
])
def test_a_menu_request_answered_reads_offers_received_with_no_failure_colour(status, plan_code, answered):
    """One GETMENU rule (models.is_menu_code) behind the label, the badge's colour and the receipt."""
    from topups.models import Order, status_label
    from topups.services.receipts import customer_message
    from topups.status_words import status_tone

    assert (status_label(status, plan_code) == "Offers received") is answered
    assert (status_tone(status, plan_code) == "ok") is (answered or status == "fulfilled")
    order = Order(service="mobile", plan_code=plan_code, status=status, number="0661234567")
    assert (customer_message(order) == "A request for the number's offers: nothing was charged.") is plan_code.upper().startswith("GETMENU")
