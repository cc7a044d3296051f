"""The counter as a clerk lives it, in a real Chromium: search by what the customer says, the
warning before a second top-up of the same line, the order page's grid, Arabic direction."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.factories import place
from topups.models import Order, OrderStatus
from topups.services import lifecycle
from topups.services.actors import Actor

from .test_dashboard_browser import log_in

S = OrderStatus
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
CODE = "918273645501"


def test_search_by_what_the_customer_says(page, live_server, operator, shot):
    lte = place(operator, "213665983439", line_type="4G", value=1500, status=S.FULFILLED, card_code=CODE,
                num_trans="TX-2026-004471")
    adsl = place(operator, "036362608", line_type="ADSL", value=1000)
    log_in(page, live_server)
    for term, order in [("0665983439", lte), ("+213665983439", lte), ("0665 98 34 39", lte),
                        ("٠٦٦٥٩٨٣٤٣٩", lte), ("٠٣٦٣٦٢٦٠٨", adsl), (adsl.ref[-6:], adsl),
                        ("TX-2026-004471", lte), (CODE, lte)]:
        page.goto(live_server.url + "/orders/")
        page.fill("#id_q", term)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        table = page.inner_text("main")
        other = adsl if order is lte else lte
        assert order.ref in table and other.ref not in table, term
        # The search is a POST: the term (a card code above all) never lands in the address.
        assert "?" not in page.url, page.url
    assert page.url == f"{live_server.url}/orders/{lte.pk}/"  # a card code lands on its order
    shot(page, "orders-search-by-code")


def test_a_second_top_up_of_the_same_line_warns_and_asks(page, live_server, operator, sim, shot):
    from topups.lines.internet import catalog

    assert catalog.sync_catalog().ok
    log_in(page, live_server)
    for attempt in range(2):
        page.goto(live_server.url + "/orders/new/")
        page.check("input[name=line_type][value='ADSL']")
        page.fill("#id_number", "036362600" if attempt == 0 else "036 36 26 00")
        page.select_option("#id_value", "ADSL:1000")
        page.click("button[type=submit].primary")
        page.wait_for_load_state()
    page.wait_for_selector("#same-line")
    first = Order.objects.get()
    assert first.ref in page.inner_text("#same-line")
    shot(page, "new-order-same-line-warning")
    # Enter (as a clerk in a hurry) does not confirm: the plain Send comes first and warns again.
    page.focus("#id_number")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("#same-line")
    assert Order.objects.count() == 1
    # A deliberate confirmation sends exactly one more (resubmitting it: tests/counter/test_same_line.py).
    with page.expect_navigation():
        page.click("#confirm-same-line")
    page.wait_for_url(lambda url: "/orders/new/" not in url)
    assert Order.objects.count() == 2


def test_send_is_disabled_after_a_failed_check(page, live_server, operator, sim, shot):
    from topups.lines.internet import catalog

    assert catalog.sync_catalog().ok
    log_in(page, live_server)
    page.goto(live_server.url + "/orders/new/")
    page.check("input[name=line_type][value='ADSL']")
    page.fill("#id_number", "036362699")
    page.select_option("#id_value", "ADSL:1000")
    page.click("#check-number")
    page.wait_for_selector("#number-check.bad")
    assert "Number not found for this service" in page.inner_text("#number-check")
    assert page.is_disabled("button[type=submit].primary")
    shot(page, "new-order-number-not-found")
    page.fill("#id_number", "036362600")  # corrected: Send is back
    assert page.is_enabled("button[type=submit].primary")
    page.click("#check-number")
    page.wait_for_selector("#number-check.ok")
    assert page.is_enabled("button[type=submit].primary")


def boxes_overlap(page, selector) -> list:
    """Pairs of boxes matched by ``selector`` that overlap, and boxes whose content overflows."""
    return page.evaluate("""(selector) => {
        const els = [...document.querySelectorAll(selector)];
        const rects = els.map(e => e.getBoundingClientRect());
        const bad = [];
        for (let i = 0; i < rects.length; i++) {
            if (els[i].scrollWidth > els[i].clientWidth + 1) bad.push(['overflow', els[i].textContent]);
            for (let j = i + 1; j < rects.length; j++) {
                const a = rects[i], b = rects[j];
                if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
                    bad.push([els[i].textContent, els[j].textContent]);
            }
        }
        return bad;
    }""", selector)


@pytest.mark.parametrize("width,height", [(1366, 800), (390, 844)])
def test_the_order_page_grid_never_overlaps(page, live_server, operator, width, height, shot):
    order = place(operator, "213665983439", line_type="4G", value=1500, status=S.FULFILLED, card_code=CODE,
                  num_trans="TX-2026-004471",
                  topup_id="6a1f0c2e9b7d4e3f8a5c1b0d", ncli="11034*****", offre="FTTc-b_10M'")
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    assert boxes_overlap(page, ".facts > div") == []
    assert boxes_overlap(page, ".facts dd") == []
    top_up = page.locator("dd[title='6a1f0c2e9b7d4e3f8a5c1b0d']")
    assert top_up.inner_text().replace("\n", "") == "6a1f0c2e9b7d4e3f8a5c1b0d"  # whole, wrapped if need be
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"order-grid-{width}")


def test_the_orders_list_on_a_phone_shows_status_and_code(page, live_server, operator, shot):
    order = place(operator, "213665983439", line_type="4G", value=1500, status=S.FULFILLED, card_code=CODE)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server)
    for language in ("en", "ar"):
        page.select_option("#lang-select", language)
        page.wait_for_selector(f"html[lang={language}]")
        page.goto(live_server.url + "/orders/")
        row = page.locator(f"tr[data-order='{order.pk}']")
        for cell in (".c-ref", ".c-status", ".c-code", ".c-number"):
            box = row.locator(cell).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (language, cell, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert CODE in row.inner_text()
        shot(page, f"orders-phone-{language}")


def test_arabic_pages_read_right_to_left(page, live_server, operator, shot):
    order = place(operator, "036362600", line_type="ADSL", value=1000)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server)
    page.select_option("#lang-select", "ar")
    page.wait_for_selector("html[dir=rtl]")
    lifecycle.move(order, S.SENDING, Actor.user(operator))
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    # The title keeps the reference whole, on one line, left to right.
    ref = page.locator(".order-title bdi")
    assert ref.inner_text() == order.ref and ref.get_attribute("dir") == "ltr"
    box = ref.bounding_box()
    assert box["height"] < 48, "the reference is on one line"
    history = page.inner_text(".history")
    assert "←" in history and "→" not in history
    assert re.search(r"\d\d:\d\d:\d\d", history), "history shows seconds"
    assert not re.search(r"\d\d?/\d\d?/\d{4} \d\d?:\d\d [ap]", page.content())
    shot(page, "order-ar-phone")


def test_admin_order_list_columns_fit_beside_the_filters_at_1366(page, live_server, supervisor, shot):
    for n in range(3):
        place(supervisor, f"21366598343{n}", line_type="4G", value=1500, status=S.FULFILLED, num_trans=f"TX-2026-00447{n}",
              cost=Decimal("1470.00"))
    log_in(page, live_server, "sam", "pw-sam")
    page.goto(live_server.url + "/admin/topups/order/")
    page.wait_for_selector("#result_list")
    fits = page.evaluate("""() => {
        const results = document.querySelector('#changelist .results');
        const last = [...document.querySelectorAll('#result_list thead th')].pop().getBoundingClientRect();
        const filter = document.querySelector('#changelist-filter');
        return {overflow: results.scrollWidth - results.clientWidth, lastRight: last.right,
                filterLeft: filter ? filter.getBoundingClientRect().left : 99999, width: window.innerWidth};
    }""")
    assert fits["overflow"] <= 1, fits
    assert fits["lastRight"] <= min(fits["filterLeft"], fits["width"]) + 1, fits
    shot(page, "admin-orders-1366")


def test_pages_have_a_favicon_and_no_404(page, live_server, operator):
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    log_in(page, live_server)
    for path in ("/", "/orders/", "/orders/new/"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
    icon = page.get_attribute("link[rel=icon]", "href")
    assert page.request.get(live_server.url + icon).status == 200
    assert missing == []
