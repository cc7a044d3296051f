"""A number typed in the admin's add form as at the counter, key by key in a real Chromium: the
page lets the whole ``+213 790 45 53 95`` in (17 characters; the column holds 16) and the order is
created with the API's form of the number."""

from __future__ import annotations

import pytest

from topups.lines.internet import catalog
from topups.lines.mobile import plans as mobile
from topups.models import Order
from topups.services import tills
from topups.services.actors import Actor

from .pages import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_admin_adds_a_flexy_order_typed_with_spaces_and_country_code(page, live_server, sim, supervisor):
    assert catalog.sync_catalog().ok and mobile.sync_plans().ok
    tills.open_till(actor=Actor.user(supervisor), opening_cash="0")
    log_in(page, live_server, "sam", "pw-sam")
    page.goto(live_server.url + "/admin/topups/order/add/")
    page.select_option("#id_service", "mobile")
    page.fill("#id_plan_code", "PREPAID_DJEZZY")
    page.locator("#id_number").press_sequentially("+213 790 45 53 95")
    assert page.input_value("#id_number") == "+213 790 45 53 95"
    page.fill("#id_value", "1000")
    with page.expect_navigation():
        page.click("input[name=_save]")
    assert "/admin/topups/order/add/" not in page.url, page.inner_text("body")[:2000]
    order = Order.objects.get()
    assert (order.service, order.plan_code, order.number) == ("mobile", "PREPAID_DJEZZY", "0790455395")
