"""The figures a shop reads agree: the home page's cost of the day is the report's (queued and
processing orders included, as the API has debited them); a menu request (GETMENU) is neither a
refund, nor money handed back, nor a failure; "Sold below cost" only once something was."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import OrderFactory
from topups import selectors
from topups import selectors_books as books
from topups.models import HandBack, Order, OrderStatus, Service, status_label
from topups.services import lifecycle, tills
from topups.services.actors import SYNC, Actor

S = OrderStatus
pytestmark = pytest.mark.django_db


def sale(user, status, till=None, **extra) -> Order:
    fields = {"number": "036362608", "cost": Decimal(980), "price": Decimal(1000), **extra}
    return OrderFactory(**fields, status=status, created_by=user, till=till)


def menu_request(user, till=None) -> Order:
    """What the API makes of a GETMENU request: "refunded", 0 DZD, with the number's offers."""
    return sale(user, S.REFUNDED, till, service=Service.MOBILE, line_type="", plan_code="GETMENU_Mobilis",
                number="0661234567", value=Decimal(0), cost=Decimal(0), price=Decimal(0))


def test_the_home_pages_cost_of_the_day_is_the_reports(operator):
    for status in (S.FULFILLED, S.QUEUED, S.HANDLING, S.REFUNDED, S.REFUSED):
        sale(operator, status)
    today = timezone.localdate()
    report = books.report(start=today, end=today)
    assert selectors.today_summary().total_cost == report.total.cost == Decimal(2940)  # 3 x 980: not handed back
    assert selectors.shop_overview().cashiers[0].total_cost == Decimal(2940)


def test_a_menu_request_is_no_refund_no_money_handed_back_and_no_failure(operator):
    till = tills.open_till(actor=Actor.user(operator), opening_cash="0")
    sale(operator, S.FULFILLED, till)
    # Both answered through the status door, which books the money handed back in the session.
    lifecycle.move(sale(operator, S.HANDLING, till), S.REFUNDED, SYNC)
    menu = menu_request(operator, till)
    Order.objects.filter(pk=menu.pk).update(status=S.HANDLING)
    menu.refresh_from_db()
    lifecycle.move(menu, S.REFUNDED, SYNC)
    today = timezone.localdate()
    assert selectors.today_summary().success_rate == 50  # one fulfilled, one refunded; the menu aside
    assert selectors.shop_overview().cashiers[0].failed == 1
    total = books.report(start=today, end=today).total
    assert (total.refund_count, total.refunds) == (1, Decimal(1000))
    figures = tills.figures(till)
    assert (figures.handed_back_count, figures.handed_back) == (1, Decimal(1000))
    assert not HandBack.objects.filter(order=menu).exists()  # a menu request hands nothing back
    assert menu.status_label == status_label(S.REFUNDED, menu.plan_code) == "Offers received"
    assert not menu.is_handed_back and sale(operator, S.REFUSED).is_handed_back


def test_sold_below_cost_lists_only_what_was(operator):
    today = timezone.localdate()
    sale(operator, S.FULFILLED)  # at a profit
    sale(operator, S.REFUSED, price=Decimal(900))  # handed back: not a sale
    assert books.sold_below_cost(start=today, end=today) == []
    sale(operator, S.FULFILLED, price=Decimal(950))
    rows = books.sold_below_cost(start=today, end=today)
    assert [(row.label, row.orders, row.revenue, row.cost) for row in rows] == [
        ("ADSL 1000", 1, Decimal(950), Decimal(980))]


def test_a_menu_request_reads_offers_received_in_a_calm_colour(operator, client):
    menu = menu_request(operator)
    client.force_login(operator)
    status = client.get(reverse("topups:order_status", args=[menu.pk])).json()
    assert (status["label"], status["tone"]) == ("Offers received", "ok")
    page = client.get(reverse("topups:order", args=[menu.pk])).content.decode()
    assert '<span class="status ok" data-status>Offers received</span>' in page and 'id="price-charged"' not in page
