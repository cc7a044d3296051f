"""Selling prices: the one rule (pricing.quote), prices following the catalog's cost, bad input
refused, and the snapshot an order keeps of what it was charged."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from topups.lines.internet import catalog
from topups.models import AuditEvent, Order, OrderStatus, PriceMode, PriceRule, Product
from topups.services import orders, pricing, sending, sync, tills
from topups.services.actors import SYNC, Actor

S = OrderStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(supervisor):
    return Actor.user(supervisor)


def product(value, line_type="ADSL") -> Product:
    return Product.objects.get(line_type=line_type, value=value)


def rule(mode, amount, rounding=0, allow=False):
    return PriceRule(line_type="ADSL", value=Decimal(1000), mode=mode, amount=Decimal(amount), rounding=rounding,
                     allow_below_cost=allow)


@pytest.mark.parametrize(("mode", "amount", "rounding", "price"), [
    (PriceMode.FIXED, "1050", 0, "1050.00"),
    (PriceMode.MARGIN, "23", 0, "1003.00"),
    (PriceMode.MARGIN, "23", 5, "1005.00"),
    (PriceMode.MARGIN, "23", 10, "1010.00"),
    (PriceMode.MARKUP, "3", 0, "1009.40"),  # 980 x 1.03
    (PriceMode.MARKUP, "3", 10, "1010.00"),
    (PriceMode.MARKUP, "0", 5, "980.00"),  # already a multiple: unchanged
])
def test_quote(mode, amount, rounding, price):
    quote = pricing.quote(cost=Decimal(980), face_value=Decimal(1000), rule=rule(mode, amount, rounding))
    assert quote.price == Decimal(price)
    assert quote.profit == Decimal(price) - 980


def test_no_rule_sells_at_face_value_and_fixed_below_cost_is_flagged():
    assert pricing.quote(cost=Decimal(980), face_value=Decimal(1000), rule=None).price == Decimal(1000)
    low = pricing.quote(cost=Decimal(980), face_value=Decimal(1000), rule=rule(PriceMode.FIXED, "950"))
    assert low.below_cost and low.refused
    allowed = pricing.quote(cost=Decimal(980), face_value=Decimal(1000), rule=rule(PriceMode.FIXED, "950", allow=True))
    assert allowed.below_cost and not allowed.refused


def test_prices_follow_cost_changes_as_set(synced, boss):
    pricing.set_rule(line_type="ADSL", value=500, mode=PriceMode.MARGIN, amount="15", actor=boss)
    pricing.set_rule(line_type="ADSL", value=1000, mode=PriceMode.FIXED, amount="1000", actor=boss)
    pricing.set_rule(line_type="", value=0, mode=PriceMode.MARKUP, amount="2", rounding=10, actor=boss)
    assert pricing.price_for(product(500)).price == Decimal(505)  # 490 + 15
    assert pricing.price_for(product(1000)).price == Decimal(1000)
    assert pricing.price_for(product(2000)).price == Decimal(2000)  # default: 1960 x 1.02 = 1999.2 -> 2000
    synced.set_cost("ADSL", 500, "495")
    synced.set_cost("ADSL", 1000, "1010")
    synced.set_cost("ADSL", 2000, "1990")
    assert catalog.sync_catalog().ok
    assert pricing.price_for(product(500)).price == Decimal(510)  # the margin follows
    fixed = pricing.price_for(product(1000))
    assert fixed.price == Decimal(1000) and fixed.below_cost  # the fixed price stays, flagged
    assert pricing.price_for(product(2000)).price == Decimal(2030)  # 1990 x 1.02 = 2029.8 -> 2030
    assert [p.value for p, _q in pricing.below_cost_products()] == [Decimal(1000)]


@pytest.mark.parametrize(("amount", "message"), [
    ("-5", "negative"), ("abc", "number"), ("NaN", "number"), ("1000.505", "decimals"), ("950", "below"),
])
def test_bad_prices_change_nothing(synced, boss, amount, message):
    pricing.set_rule(line_type="ADSL", value=1000, mode=PriceMode.FIXED, amount="1100", actor=boss)
    audits = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        pricing.set_rule(line_type="ADSL", value=1000, mode=PriceMode.FIXED, amount=amount, actor=boss)
    assert message in caught.value.messages[0]
    assert PriceRule.objects.get(line_type="ADSL", value=1000).amount == Decimal(1100)
    assert AuditEvent.objects.count() == audits


def test_price_changes_are_audited(synced, boss):
    pricing.set_rule(line_type="ADSL", value=1000, mode=PriceMode.FIXED, amount="1100", actor=boss)
    pricing.set_rule(line_type="ADSL", value=1000, mode=PriceMode.MARGIN, amount="30", rounding=10, actor=boss)
    last = AuditEvent.objects.filter(action="price_rule").first()
    assert last.actor_label == "sam"
    assert last.detail == {"before": {"mode": "fixed", "amount": "1100.00", "rounding": 0, "allow_below_cost": False},
                           "after": {"mode": "margin", "amount": "30", "rounding": 10, "allow_below_cost": False}}


def test_below_cost_refused_at_order_entry_unless_allowed(synced, boss, operator):
    pricing.set_rule(line_type="ADSL", value=1000, mode=PriceMode.FIXED, amount="990", actor=boss)
    synced.set_cost("ADSL", 1000, "995")
    catalog.sync_catalog()
    staff = Actor.user(operator)
    with pytest.raises(orders.OrderInputError, match="below its cost") as refused:
        orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000), actor=staff)
    assert "995" not in str(refused.value)  # told at the counter, to a cashier who sees no costs
    assert not Order.objects.exists()
    pricing.set_rule(line_type="ADSL", value=1000, mode=PriceMode.FIXED, amount="990", allow_below_cost=True,
                     actor=boss)
    order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000), actor=staff)
    assert order.price == Decimal(990) and order.cost == Decimal(995)


def test_the_snapshot_never_changes(synced, boss, operator, settings):
    """Price, seller and till are fixed at creation; the cost is what the API debits, fixed at the
    first send (the number check's current cost, see services/sending.py), then never again."""
    settings.TILL_REQUIRED = True
    staff = Actor.user(operator)
    till = tills.open_till(actor=staff, opening_cash="0")
    pricing.set_rule(line_type="ADSL", value=1000, mode=PriceMode.MARGIN, amount="40", actor=boss)
    order, _ = orders.create_order(line_type="ADSL", number="036362690", value=Decimal(1000), actor=staff)
    snapshot = Order.objects.values("price", "cost", "created_by", "till").get(pk=order.pk)
    assert snapshot == {"price": Decimal(1020), "cost": Decimal(980), "created_by": operator.pk, "till": till.pk}
    sending.send_order(order_id=order.pk, actor=staff)
    # Everything around it moves: the price rule, the cost, the status (refunded), the till.
    pricing.set_rule(line_type="ADSL", value=1000, mode=PriceMode.FIXED, amount="1200", actor=boss)
    synced.set_cost("ADSL", 1000, "900")
    catalog.sync_catalog()
    synced.advance(5)
    sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=SYNC)
    tills.close_till(till_id=till.pk, counted_cash="0", actor=staff)
    assert Order.objects.get(pk=order.pk).status == S.REFUNDED
    assert Order.objects.values("price", "cost", "created_by", "till").get(pk=order.pk) == snapshot


def fee(mode, amount, rounding=0, **target):
    return PriceRule(mode=mode, amount=Decimal(amount), rounding=rounding, **target)


@pytest.mark.parametrize(("amount", "cost", "rule", "price"), [
    ("500", "480.00", None, "500.00"),  # face value, whatever the cost below it
    ("300", "288.00", None, "300.00"),
    ("1000", "1015.00", None, "1015.00"),  # the API debits more than the face value: never below it
    ("1000", "1000.40", None, "1001.00"),  # raised to whole dinars
    ("1000", "980.00", fee(PriceMode.MARGIN, "20"), "1020.00"),  # the fee is on the amount, not the cost
    ("1000", "980.00", fee(PriceMode.MARKUP, "2", 5), "1020.00"),
    ("1000", "1033.00", fee(PriceMode.MARGIN, "20", 5), "1035.00"),  # below cost: the cost, rounded up
])
def test_flexy_sells_at_face_value_plus_its_fee_never_below_cost(amount, cost, rule, price):
    quote = pricing.mobile_quote(cost=Decimal(cost), amount=Decimal(amount), rule=rule)
    assert quote.price == Decimal(price) and not quote.below_cost


def test_a_flexy_fee_is_the_plans_then_its_networks_never_the_cards_default(boss):
    pricing.set_rule(line_type="", value=0, mode=PriceMode.MARKUP, amount="2", rounding=5, actor=boss)
    book = pricing.PriceBook()
    # The figures: "markup 2 %, round up to 5" made 500 DA of Mobilis credit 490 DA.
    assert book.quote_mobile("PREPAID_MOBILIS", Decimal(500), Decimal(480), "Mobilis").price == Decimal(500)
    pricing.set_rule(line_type="", value=0, operator="Mobilis", mode=PriceMode.MARGIN, amount="10", actor=boss)
    pricing.set_rule(line_type="", value=0, plan_code="PIXX_500", mode=PriceMode.MARGIN, amount="5", actor=boss)
    book = pricing.PriceBook()
    assert book.quote_mobile("PREPAID_MOBILIS", Decimal(500), Decimal(480), "Mobilis").price == Decimal(510)
    assert book.quote_mobile("PIXX_500", Decimal(500), Decimal(480), "Mobilis").price == Decimal(505)
    assert book.quote_mobile("PREPAID_DJEZZY", Decimal(500), Decimal(480), "Djezzy").price == Decimal(500)
    assert pricing.PriceBook().default.mode == PriceMode.MARKUP  # the cards' default is still the default


def test_a_flexy_fee_cannot_be_a_fixed_price(boss):
    with pytest.raises(ValidationError):
        pricing.set_rule(line_type="", value=0, operator="Djezzy", mode=PriceMode.FIXED, amount="1000", actor=boss)
    assert not PriceRule.objects.exists()


def test_the_prices_page_lists_every_flexy_plan_with_cost_and_price(synced, client, supervisor):
    from topups.lines.mobile import plans as mobile
    from topups.models import MobilePlan

    assert mobile.sync_plans().ok
    client.force_login(supervisor)
    page = client.get(reverse("topups:prices")).content.decode()
    plans = [p for p in MobilePlan.objects.all() if not p.is_menu]
    assert plans and all(f'data-plan="{p.code}"' in page for p in plans)
    response = client.post(reverse("topups:prices"), {"product": "operator:Djezzy", "mode": PriceMode.MARGIN,
                                              "amount": "15", "rounding": "0"})
    assert response.status_code == 302
    assert pricing.PriceBook().mobile_rule_for("PREPAID_DJEZZY").amount == Decimal(15)


def test_a_shop_wide_fixed_price_below_a_cards_cost_is_refused(synced, boss, operator):
    audits = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="below the cost of"):
        pricing.set_rule(line_type="", value=0, mode=PriceMode.FIXED, amount="1.50", actor=boss)
    assert not PriceRule.objects.exists() and AuditEvent.objects.count() == audits
    # A card with its own rule is priced by it: only the cards left to the default are checked.
    for line_type, value in Product.objects.filter(value__gt=500).values_list("line_type", "value"):
        pricing.set_rule(line_type=line_type, value=value, mode=PriceMode.MARGIN, amount="0", actor=boss)
    with pytest.raises(ValidationError, match="below the cost of"):
        pricing.set_rule(line_type="", value=0, mode=PriceMode.FIXED, amount="480", actor=boss)
    pricing.set_rule(line_type="", value=0, mode=PriceMode.FIXED, amount="500", actor=boss)
    order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(500), actor=Actor.user(operator))
    assert order.price == Decimal(500)
    # With a supervisor's leave, it is saved (and flagged on the dashboard).
    pricing.set_rule(line_type="", value=0, mode=PriceMode.FIXED, amount="1.50", allow_below_cost=True, actor=boss)
    assert PriceRule.objects.get(line_type="").amount == Decimal("1.50")


def test_one_sentence_refuses_a_sale_below_cost_for_each_service():
    """The counter, the admin's add form and a bulk file's preview all word the refusal from Quote.refusal."""
    below = pricing.Quote(Decimal("990.00"), Decimal("995.00"))
    assert below.refusal(service="internet") == ("This card's price (990.00 DA) is below its cost: "
                                                 "a supervisor must allow it first.")
    assert below.refusal(service="mobile") == "This top-up's price is below its cost: a supervisor must allow it first."
    allowed = pricing.Quote(Decimal("990.00"), Decimal("995.00"), allow_below_cost=True)
    assert allowed.refusal(service="internet") is None
    assert pricing.Quote(Decimal("1000.00"), Decimal("995.00")).refusal(service="internet") is None


def test_the_prices_page_writes_a_flexy_fee_as_the_cards_rules(synced, client, supervisor):
    """A flexy fee reads as what it is, a fee on the face value (not "over cost"), in percent or in
    dinars as the cards' rules are written (not "2.00")."""
    import re

    from topups.lines.mobile import plans as mobile

    assert mobile.sync_plans().ok
    boss = Actor.user(supervisor)
    pricing.set_rule(line_type="", value=0, operator="Djezzy", mode=PriceMode.MARKUP, amount="2", actor=boss)
    pricing.set_rule(line_type="", value=0, operator="Mobilis", mode=PriceMode.MARGIN, amount="15", actor=boss)
    client.force_login(supervisor)
    page = client.get(reverse("topups:prices")).content.decode()
    flexy = page[page.index('id="flexy-prices"'):]
    rules = re.findall(r"<td>Flexy (\w+): ([^<]*)</td>", flexy)
    assert ("Djezzy", "face value + 2 %") in rules and ("Mobilis", "face value + 15.00 DA") in rules
