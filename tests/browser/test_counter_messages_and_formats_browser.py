"""The counter's small things: an error is said once (no open session, a bad flexy amount, even
after the page checks the amount again by itself), Arabic amounts are grouped, days are picked in
``<input type=date>`` whatever the language, rule amounts are formatted and the charts carry their
values."""

from __future__ import annotations

import re

import pytest

from topups.lines.mobile import plans as mobile
from topups.models import PriceMode
from topups.services import preferences, pricing
from topups.services.actors import Actor

from .pages import log_in, submit_card_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_errors_are_said_once(page, live_server, priced_shop, operator, shot):
    assert mobile.sync_plans().ok
    log_in(page, live_server)
    page.goto(live_server.url + "/orders/new/?service=mobile")
    page.fill("#id_number", "0771234567")
    page.select_option("#id_plan_code", "PREPAID_DJEZZY")
    page.fill("#id_amount", "12.5")
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    page.wait_for_load_state("networkidle")  # the page's own check of the amount has answered
    page.wait_for_timeout(400)
    main = page.inner_text("main")
    shot(page, "flexy-amount-error-once")
    assert main.count("whole number of dinars") == 1, main
    assert main.count("Open your cash session") == 1, main

    submit_card_order(page, live_server, "036362600")
    main = page.inner_text("main")
    shot(page, "no-session-once")
    assert main.count("Open your cash session") == 1, main


def test_amounts_days_rules_and_charts_in_arabic_and_french(page, live_server, priced_shop, supervisor, shot):
    pricing.set_rule(line_type="ADSL", value=1000, mode=PriceMode.FIXED, amount="1050", actor=Actor.user(supervisor))
    preferences.save_language(user=supervisor, language="ar")
    log_in(page, live_server, "sam", "pw-sam")
    assert "100.000,00" in page.inner_text("main")  # the balance, grouped the Arabic way
    page.goto(live_server.url + "/reports/?start=2026-12-01&end=2026-12-06")
    day_inputs = page.locator("input[type=date]")
    assert day_inputs.count() == 2 and day_inputs.first.input_value() == "2026-12-01"
    assert page.locator("#daily-chart text.value").count() >= 2  # the value axis: 0 and the top (and the half)
    shot(page, "reports-ar")
    page.goto(live_server.url + "/prices/")
    assert "1.050,00" in page.inner_text("main")
    page.select_option("#lang-select", "fr")
    page.wait_for_selector("html[lang=fr]")
    page.goto(live_server.url + "/orders/?date_from=2026-12-01")
    assert page.locator("#id_date_from").get_attribute("type") == "date"
    assert page.input_value("#id_date_from") == "2026-12-01"  # not 01/12/2026, which a date input cannot show
    page.goto(live_server.url + "/prices/")
    assert re.search(r"Prix fixe 1\s050,00\sDA", page.inner_text("main"))
    shot(page, "prices-fr")
