"""The counter as a shop uses it, in a real Chromium: flexy sold at the credit's face value and every
flexy plan on the selling-prices page; a receipt for every paid state, printed from the order page
in the customer's language with our own words (never the API's notes to the shop); the home
page's figures as the report's, and a cashier who does not see the shop's costs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import MobileOrderFactory, OrderFactory
from topups.lines.internet import catalog
from topups.lines.mobile import plans as mobile
from topups.models import MobilePlan, Order, OrderStatus, PriceMode
from topups.services import pricing
from topups.services.actors import Actor

from .test_dashboard_browser import log_in
from .test_flexy_browser import open_flexy
from .test_receipt_browser import set_language

S = OrderStatus
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
# The API's own Arabic notes, written for the shop: "do not refund the customer", "returned to your balance".
DO_NOT_REFUND = "لا تعيدوا المبلغ للزبون"
RETURNED_TO_BALANCE = "تمت إعادة المبلغ إلى رصيدك"


@pytest.fixture
def shop_markup(sim, supervisor):
    """The issue's shop: default "markup 2 %, round up to 5 DA", the plans and cards cached."""
    assert catalog.sync_catalog().ok and mobile.sync_plans().ok
    pricing.set_rule(line_type="", value=0, mode=PriceMode.MARKUP, amount="2", rounding=5,
                     actor=Actor.user(supervisor))
    return sim


def test_flexy_sells_at_face_value_and_every_plan_is_on_the_price_list(page, live_server, operator, supervisor,
                                                                       shop_markup, shot):
    log_in(page, live_server)
    open_flexy(page, live_server)
    page.fill("#id_number", "0661234567")
    page.wait_for_selector("#flexy-operator:has-text('Mobilis')")
    page.select_option("#id_plan_code", "PREPAID_MOBILIS")
    page.fill("#id_amount", "500")
    page.wait_for_selector("#quote-price")
    assert page.inner_text("#quote-price") == "500.00 DA"  # was 490.00 DA: below the credit delivered
    shot(page, "counter-flexy-face-value")
    page.context.clear_cookies()
    log_in(page, live_server, "sam", "pw-sam")
    page.goto(live_server.url + "/prices/")
    rows = page.locator("#flexy-prices tbody tr[data-plan]")
    plans = [p for p in MobilePlan.objects.all() if not p.is_menu]
    assert rows.count() == len(plans) > 0
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td").all_inner_texts()
        cost, price = (Decimal(c.replace(" DA", "").replace(",", "")) if c.strip() != "—" else None
                       for c in (cells[2], cells[4]))
        assert price is not None and (cost is None or price >= cost), cells
    shot(page, "prices-flexy")


def paid(operator, status, service="internet", **extra) -> Order:
    factory, number = ((MobileOrderFactory, "0771234567") if service == "mobile"
                       else (OrderFactory, "036362608"))
    fields = {"number": number, "cost": Decimal(980), "price": Decimal(1000), **extra}
    return factory(**fields, status=status, created_by=operator, processed_at=timezone.now())


@pytest.mark.parametrize(("kind", "status", "service", "note", "words"), [
    ("queued", S.QUEUED, "internet", "", "revenez avec au magasin"),
    ("uncertain", S.UNCERTAIN, "mobile", DO_NOT_REFUND, "L'opérateur n'a pas encore confirmé"),
    ("refunded", S.REFUNDED, "mobile", RETURNED_TO_BALANCE, "Le magasin vous rend ce que vous avez payé"),
    ("refused", S.REFUSED, "internet", "", "Le magasin vous rend ce que vous avez payé"),
])
def test_every_paid_state_prints_a_receipt_in_the_customers_language(page, live_server, operator, kind, status,
                                                                      service, note, words, shot):
    order = paid(operator, status, service, refund_message=note, refusal_code="ERR_PHONE" if kind == "refused" else "",
                 refusal_message="Invalid phone number for ADSL service" if kind == "refused" else "")
    log_in(page, live_server)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    if note:  # the staff still read the API's note, as a detail
        assert note in page.inner_text("#order-status")
    link = page.locator("#receipt-buttons a").first
    page.goto(live_server.url + link.get_attribute("href"))
    page.click("a[lang=fr]")  # the cashier prints it in the customer's language
    page.wait_for_selector("html[lang=fr]")
    paper = page.inner_text(".paper")
    assert words in paper, paper
    assert note not in paper if note else True
    assert "Invalid phone number" not in paper and "apparaîtra ici" not in paper and "will appear here" not in paper
    shot(page, f"receipt-from-order-page-{kind}-fr")


def test_a_queued_receipt_in_arabic_tells_the_customer_to_come_back(page, live_server, operator, shot):
    order = paid(operator, S.QUEUED)
    log_in(page, live_server)
    set_language(page, "ar")
    page.goto(f"{live_server.url}/orders/{order.pk}/receipt/?width=58")
    assert "عُد به إلى المحل" in page.inner_text("#customer-message")
    shot(page, "receipt-queued-58mm-ar-own-language")


def test_the_days_figures_agree_and_a_cashier_sees_no_cost(page, live_server, operator, supervisor, shot):
    """The home page's cost of the day is the report's (a queued order included); "Sold below cost"
    is not shown when nothing was; a cashier sees neither the cost nor the provider's balance; a
    menu request reads "Offers received", with no price."""
    paid(operator, S.FULFILLED)
    paid(operator, S.QUEUED)
    paid(operator, S.REFUNDED)
    menu = paid(operator, S.REFUNDED, "mobile", plan_code="GETMENU_Mobilis", value=Decimal(0),
                cost=Decimal(0), price=Decimal(0))
    log_in(page, live_server, "sam", "pw-sam")
    home_cost = page.inner_text("#today-cost")
    assert page.locator("#below-cost").count() == 0
    shot(page, "home-supervisor-figures")
    page.goto(live_server.url + "/reports/")
    report_cost = page.locator("tfoot th").nth(3).inner_text()
    assert home_cost == report_cost == "1,960.00 DA"
    assert page.locator("tfoot th").nth(5).inner_text() == "1,000.00 DA (1)"  # the menu request is no refund
    page.goto(f"{live_server.url}/orders/{menu.pk}/")
    assert page.inner_text("#order-status [data-status]") == "Offers received"
    assert page.locator("#price-charged").count() == 0
    shot(page, "order-menu-request")
    page.context.clear_cookies()
    log_in(page, live_server)  # the cashier
    body = page.inner_text("main")
    assert page.locator("#balance-card").count() == 0 and page.locator("#today-cost").count() == 0
    assert "Total cost" not in body
    page.goto(f"{live_server.url}/orders/{menu.pk - 1}/")
    assert page.locator("#order-cost").count() == 0
    shot(page, "home-cashier-no-cost")
