"""The counter's checks over their per-user rate, in a real Chromium: the clerk reads why the
check did not answer, and can still send (a throttled check is not a refused number)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from topups.lines.internet import catalog
from topups.lines.mobile import plans as mobile

from .test_dashboard_browser import log_in
from .test_flexy_browser import open_flexy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
TOO_MANY = "Too many checks in a short time"


@pytest.fixture
def shop(sim):
    cache.clear()  # no count left by an earlier test
    assert catalog.sync_catalog().ok and mobile.sync_plans().ok
    yield sim
    cache.clear()


def test_a_throttled_number_check_says_so_and_does_not_block_sending(page, live_server, operator, shop, settings,
                                                                     shot):
    settings.NUMBER_CHECK_RATE = "1/m"
    log_in(page, live_server)
    page.goto(live_server.url + "/orders/new/")
    page.check("input[name=line_type][value='ADSL']")
    page.fill("#id_number", "036362600")
    page.select_option("#id_value", "ADSL:1000")
    page.click("#check-number")
    page.wait_for_selector("#number-check.ok")
    page.click("#check-number")
    page.wait_for_selector(f"#number-check.bad:has-text('{TOO_MANY}')")
    assert page.is_enabled("button[type=submit].primary")
    shot(page, "new-order-number-check-throttled")


def test_a_throttled_plan_check_says_so(page, live_server, operator, shop, settings):
    settings.PLAN_CHECK_RATE = "1/m"
    log_in(page, live_server)
    open_flexy(page, live_server)
    page.fill("#id_number", "0771234567")
    page.wait_for_selector("#flexy-operator:has-text('Djezzy')")
    page.select_option("#id_plan_code", "PREPAID_DJEZZY")
    page.wait_for_selector(f"#flexy-quote.bad:has-text('{TOO_MANY}')")
    assert TOO_MANY in page.inner_text("#flexy-quote")
