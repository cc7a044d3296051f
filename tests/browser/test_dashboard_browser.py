"""The dashboard in a real Chromium: log in, send an order to FULFILLED, a refusal, a double click,
Arabic right to left. Screenshots of the main pages go to test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from tests.browser.pages import log_in
from topups.models import Order, OrderStatus
from topups.services import sync
from topups.services.actors import SYNC

S = OrderStatus
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def fill_order(page, live_server, number, line_type="ADSL", value="ADSL:1000"):
    page.goto(live_server.url + "/orders/new/")
    page.check(f"input[name=line_type][value='{line_type}']")
    page.fill("#id_number", number)
    page.select_option("#id_value", value)


def test_order_to_fulfilled_with_code_and_receipt(page, live_server, operator, synced, shot):
    log_in(page, live_server)
    shot(page, "home")
    page.goto(live_server.url + "/orders/new/")
    assert page.evaluate("document.activeElement.id") == "id_number"  # autofocus on the number
    page.check("input[name=line_type][value='4G']")
    assert page.locator("#id_value option[data-type='ADSL']").first.is_hidden()
    page.fill("#id_number", "0665 98 34 00")
    page.click("#check-number")
    page.wait_for_selector("#number-check.ok")
    assert page.input_value("#id_number") == "213665983400"
    page.select_option("#id_value", "4G:1500")
    shot(page, "new-order")
    page.focus("#id_number")
    page.keyboard.press("Enter")  # Enter in the number field submits
    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    order = Order.objects.get()
    assert order.status == S.HANDLING
    assert "Processing" in page.inner_text("#order-status")
    synced.advance(5)
    sync.refresh_orders([order], actor=SYNC)  # what the background sync does
    order.refresh_from_db()
    page.wait_for_selector("#card-code", timeout=10_000)  # the page polled, saw FULFILLED, reloaded
    assert page.inner_text("#card-code") == order.card_code
    assert order.num_trans in page.inner_text("#order-status")
    shot(page, "order-fulfilled")
    with page.context.expect_page() as new:
        page.click("text=Receipt (58 mm)")
    receipt = new.value
    receipt.wait_for_load_state()
    assert order.card_code in receipt.inner_text("body")
    shot(receipt, "receipt-58mm")
    receipt.goto(receipt.url.replace("width=58", "width=80"))
    shot(receipt, "receipt-80mm")
    page.goto(live_server.url + "/orders/")
    assert order.ref in page.inner_text("table")
    shot(page, "orders")


def test_refusal_keeps_the_form(page, live_server, operator, synced, shot):
    log_in(page, live_server)
    fill_order(page, live_server, "036362699")
    page.click("button[type=submit].primary")
    page.wait_for_selector(".alert.bad")
    assert "Refused, nothing was charged" in page.inner_text(".alert.bad")
    assert page.input_value("#id_number") == "036362699"
    assert page.input_value("#id_value") == "ADSL:1000"
    shot(page, "new-order-refused")


def test_double_click_makes_one_order(page, live_server, operator, synced):
    log_in(page, live_server)
    fill_order(page, live_server, "036362600")
    page.dblclick("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    assert Order.objects.count() == 1


def test_arabic_is_right_to_left(page, live_server, operator, shot):
    log_in(page, live_server)
    page.select_option("#lang-select", "ar")
    page.wait_for_load_state()
    page.wait_for_selector("html[dir=rtl]")
    assert page.get_attribute("html", "lang") == "ar"
    assert "طلب جديد" in page.inner_text("header")
    shot(page, "home-ar")
