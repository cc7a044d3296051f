"""Mobile top-ups ("flexy") at the counter in a real Chromium, against the simulator over HTTP: a sale
from the service tab to its receipt, with the operator recognised as the number is typed, only its
plans offered and the price shown before sending; and an offer the API suggested after a refusal,
sent with one click as a new order."""

from __future__ import annotations

import pytest

from topups.lines.internet import catalog
from topups.lines.mobile import plans as mobile
from topups.models import Order, OrderStatus, PriceMode
from topups.services import pricing, sync
from topups.services.actors import SYNC, Actor

from .test_dashboard_browser import log_in

S = OrderStatus
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
# The simulator refunds an order for this number and suggests the number's offers instead.
SUGGESTS_OFFERS = "0700000002"


@pytest.fixture
def flexy_shop(sim, supervisor):
    """The plans cached from the simulator and a shop-wide card price of cost + 20 DA (which flexy,
    sold at the credit's face value, does not follow)."""
    assert catalog.sync_catalog().ok and mobile.sync_plans().ok
    pricing.set_rule(line_type="", value=0, mode=PriceMode.MARGIN, amount="20", actor=Actor.user(supervisor))
    return sim


def settle(sim, order: Order) -> Order:
    """The status sync's next look, once the simulator has finished the top-up."""
    sim.advance(60)
    sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=SYNC)
    return Order.objects.get(pk=order.pk)


def open_flexy(page, live_server):
    page.goto(live_server.url + "/orders/new/")
    with page.expect_navigation():
        page.click("#tab-mobile")
    page.wait_for_selector("#flexy-order")


def test_a_flexy_sale_from_the_counter_to_its_receipt(page, live_server, operator, flexy_shop, shot):
    log_in(page, live_server)
    open_flexy(page, live_server)
    page.fill("#id_number", "+213 771 23 45 67")
    page.wait_for_selector("#flexy-operator:has-text('Djezzy')")
    # Only the number's operator's plans are offered.
    assert page.locator("optgroup[label='Mobilis']").get_attribute("hidden") is not None
    assert page.locator("optgroup[label='Djezzy']").get_attribute("hidden") is None
    page.select_option("#id_plan_code", "PREPAID_DJEZZY")
    page.wait_for_selector("#amount-range:has-text('10,000')")
    page.fill("#id_amount", "1000")
    page.wait_for_selector("#quote-price")
    # A cashier sees the price (the credit's face value, never below the most the API may debit:
    # the full 1000), not what it costs the shop.
    assert page.inner_text("#quote-price") == "1,000.00 DA" and page.locator("#quote-cost").count() == 0
    shot(page, "flexy-flexy_shop")
    with page.expect_navigation():
        page.click("#flexy-order button[type=submit].primary")
    order = Order.objects.get()
    assert (order.service, order.number, order.plan_code) == ("mobile", "0771234567", "PREPAID_DJEZZY")
    assert settle(flexy_shop, order).status == S.FULFILLED
    page.wait_for_selector("#flexy-confirmation", timeout=15_000)  # the page follows the order by itself
    assert order.topup_id in page.inner_text("#flexy-confirmation")
    page.goto(f"{live_server.url}/orders/{order.pk}/receipt/?width=58")
    receipt = page.inner_text("body")
    assert "Top-up sent" in receipt and "0771234567" in receipt and order.topup_id in receipt
    assert "Card code" not in receipt
    shot(page, "flexy-receipt-58")


def test_a_suggested_offer_is_sent_with_one_click(page, live_server, operator, flexy_shop, shot):
    log_in(page, live_server)
    open_flexy(page, live_server)
    page.fill("#id_number", SUGGESTS_OFFERS)
    page.select_option("#id_plan_code", "PREPAID_DJEZZY")
    page.fill("#id_amount", "1000")
    page.wait_for_selector("#quote-price")
    with page.expect_navigation():
        page.click("#flexy-order button[type=submit].primary")
    refused = Order.objects.get()
    assert settle(flexy_shop, refused).suggested_offers
    page.wait_for_selector("#suggested-offers", timeout=15_000)
    shot(page, "flexy-suggested-offers")
    offer = refused.suggested_offers[0] if isinstance(refused.suggested_offers, list) else None
    offer = Order.objects.get(pk=refused.pk).suggested_offers[0] if offer is None else offer
    with page.expect_navigation():
        page.click(f"#suggested-offers button[data-offer='{offer['plan_code']}']")
    new = Order.objects.exclude(pk=refused.pk).get()
    assert page.url.endswith(f"/orders/{new.pk}/")
    assert (new.plan_code, new.number) == (offer["plan_code"], refused.number) and new.ref != refused.ref


def test_the_flexy_form_in_arabic_on_a_phone(page, live_server, operator, flexy_shop, shot):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server)
    page.select_option("#lang-select", "ar")
    page.wait_for_selector("html[lang=ar][dir=rtl]")
    open_flexy(page, live_server)
    page.fill("#id_number", "0661234567")
    page.wait_for_selector("#flexy-operator:has-text('Mobilis')")
    page.select_option("#id_plan_code", "PIXX_500")
    page.wait_for_selector("#quote-price")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.get_attribute("#id_number", "dir") == "ltr"
    shot(page, "flexy-counter-ar-phone")


def test_a_flexy_sale_without_javascript(chromium, live_server, operator, flexy_shop, shot):
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page, live_server)
        page.goto(live_server.url + "/orders/new/?service=mobile")
        page.fill("#id_number", "0551234567")
        with page.expect_navigation():
            page.click("#flexy-check")  # the server recognises the operator and offers its plans only
        assert "Ooredoo" in page.inner_text("#flexy-operator")
        assert page.locator("optgroup[label='Djezzy']").get_attribute("hidden") is not None
        page.select_option("#id_plan_code", "PREPAID_OOREDOO")
        page.fill("#id_amount", "500")
        with page.expect_navigation():
            page.click("#flexy-check")
        # The face value, never below the full 500 (the most the API may debit); no cost for a cashier.
        assert page.inner_text("#quote-price") == "500.00 DA" and page.locator("#quote-cost").count() == 0
        shot(page, "flexy-counter-no-js")
        with page.expect_navigation():
            page.click("#flexy-order button[type=submit].primary")
        order = Order.objects.get()
        assert page.url.endswith(f"/orders/{order.pk}/")
        assert (order.number, order.plan_code, order.value) == ("0551234567", "PREPAID_OOREDOO", 500)
    finally:
        context.close()
