"""Gift cards at the counter in a real Chromium, against the simulator over HTTP: the tab, a product
chosen by category, its cards with price and stock, a sale of two cards, the order page listing every
card with its serial, and the receipt with the cards grouped and large and the product's instructions."""

from __future__ import annotations

import pytest

from tests.giftcards.conftest import PSN
from topups.models import GiftInstructions, GiftProduct, Order, OrderStatus
from topups.services import sync
from topups.services.actors import SYNC

from .test_dashboard_browser import log_in

S = OrderStatus
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_gift_card_sale_from_the_counter_to_its_receipt(page, live_server, operator, sim, shot):
    log_in(page, live_server)
    page.goto(live_server.url + "/orders/new/")
    with page.expect_navigation():
        page.click("#tab-giftcard")
    page.select_option("#id_product", PSN)
    with page.expect_navigation():
        page.click("#gift-show-types")
    types = page.inner_text("#gift-types")
    assert "PSN 500 DA" in types and "150 in stock" in types and "out of stock" in types
    assert page.locator("#gift-types .error").count() == 0  # showing the cards is not a sale yet
    page.check("input[name=type_id][value=type_001]")
    page.fill("#id_quantity", "2")
    shot(page, "giftcards-counter")
    with page.expect_navigation():
        page.click("#gift-order button[type=submit].primary")
    order = Order.objects.get()
    assert (order.service, order.number) == ("giftcard", "2")
    GiftInstructions.objects.create(product=GiftProduct.objects.get(product_id=PSN), language="en",
                                    text="Redeem on the PlayStation Store.")
    sim.advance(60)
    sync.refresh_orders([order], actor=SYNC)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    assert page.inner_text("#gift-card-1") == "SANDBOX-CARD-1" and page.inner_text("#gift-card-2") == "SANDBOX-CARD-2"
    shot(page, "giftcards-order")
    page.goto(f"{live_server.url}/orders/{order.pk}/receipt/?width=58")
    receipt = page.inner_text("body")
    assert "SANDBOX-2" in receipt and "Redeem on the PlayStation Store." in receipt
    assert "Done: your cards are below." in receipt
    shot(page, "giftcards-receipt-58")
