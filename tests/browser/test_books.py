"""The cashier's day in a real Chromium: open a session, sell two cards (one ends refunded), close
with a difference, print the close on the receipt printer and on A4; the reports page in Arabic,
its charts drawn without a script, right to left."""

from __future__ import annotations

import io

import pytest

from topups.models import Order, OrderStatus, Till, TillStatus
from topups.services import sync
from topups.services.actors import SYNC

from .pages import log_in, submit_card_order

S = OrderStatus
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def shop(priced_shop):
    return priced_shop


def sell(page, live_server, number: str, value: str) -> None:
    submit_card_order(page, live_server, number, value)
    page.wait_for_url(lambda url: "/orders/new/" not in url)


def test_a_cashiers_day(page, live_server, operator, shop, shot):
    log_in(page, live_server)
    # No session yet: the sale is refused, with the way out.
    submit_card_order(page, live_server, "036362600")
    assert "Open your cash session" in page.inner_text("main")
    assert not Order.objects.exists()
    with page.expect_navigation():
        page.click("#no-till a")  # the form says it up front, with the way to the session page

    page.fill("#id_opening_cash", "1000")
    with page.expect_navigation():
        page.click("#open-till button[type=submit]")
    assert "Cash session opened." in page.inner_text("main")
    assert "price 1,000.00 DA" in (page.goto(live_server.url + "/orders/new/") and page.inner_text("#id_value"))

    sell(page, live_server, "036362600", "ADSL:1000")  # 980 + 20: fulfilled
    sell(page, live_server, "036362690", "ADSL:500")  # 490 + 20: refunded by the API
    shop.advance(5)
    sync.refresh_orders(list(Order.objects.all()), actor=SYNC)
    assert sorted(Order.objects.values_list("status", flat=True)) == [S.FULFILLED, S.REFUNDED]
    refunded = Order.objects.get(status=S.REFUNDED)
    page.goto(live_server.url + f"/orders/{refunded.pk}/")
    assert page.inner_text("#hand-back") == "510.00 DA"

    page.goto(live_server.url + "/till/")
    assert page.inner_text("[data-expected]") == "2,000.00 DA"  # 1000 + 1510 - 510
    page.fill("#id_counted_cash", "1990")
    shot(page, "books-close")
    with page.expect_navigation():
        page.click("#close-till button[type=submit]")
    till = Till.objects.get()
    assert (till.status, till.expected_cash, till.counted_cash) == (TillStatus.CLOSED, 2000, 1990)
    assert page.inner_text("[data-difference]") == "-10.00 DA"
    shot(page, "books-closed")

    # Printed: on A4, and on the 80 mm receipt printer.
    page.emulate_media(media="print")
    a4 = page.pdf(format="A4")
    page.goto(live_server.url + f"/tills/{till.pk}/?paper=80")
    thermal = page.pdf(width="80mm", height="200mm")
    pypdf = pytest.importorskip("pypdf")
    for pdf in (a4, thermal):
        text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
        assert "1,990.00" in text and "-10.00" in text
    a4_text = pypdf.PdfReader(io.BytesIO(a4)).pages[0].extract_text()
    assert "Print (A4)" not in a4_text and "Log out" not in a4_text  # neither buttons nor the menu


def test_reports_in_arabic_right_to_left(page, live_server, supervisor, shop, shot):
    from decimal import Decimal

    from django.utils import timezone

    Order.objects.bulk_create([Order(line_type="ADSL", number="036362600", value=Decimal(1000), cost=Decimal(980),
                                     price=Decimal(1020), status=S.FULFILLED, created_by=supervisor,
                                     created_at=timezone.now())])
    log_in(page, live_server, "sam", "pw-sam")
    page.select_option("#lang-select", "ar")
    page.wait_for_selector("html[lang=ar]")
    page.goto(live_server.url + "/reports/?group=product")
    assert page.get_attribute("html", "dir") == "rtl"
    bars = page.locator("#mix-chart rect")
    assert bars.count() == 1
    box, chart = bars.first.bounding_box(), page.locator("#mix-chart").bounding_box()
    # Right to left: the labels are on the right and the bar grows from them towards the left edge
    # (left to right, it starts a third of the way in, after the labels), leaving room at its end for
    # its value.
    assert box["x"] < chart["x"] + chart["width"] * 0.15 < chart["x"] + chart["width"] * 0.5 < box["x"] + box["width"]
    assert page.locator("#mix-chart text.value").first.bounding_box()["x"] >= chart["x"] - 1
    label = page.locator("#mix-chart text").first.bounding_box()
    assert label["x"] > box["x"] + box["width"]
    assert page.locator("#daily-chart rect.revenue").count() == 1
    shot(page, "books-reports-ar")
