"""The figures a shop reads agree: the home page's cost of the day is the report's (queued and
processing orders included, as the API has debited them); a menu request (GETMENU) is neither a
refund, nor money handed back, nor a failure; "Sold below cost" only once something was."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import OrderFactory
from topups import selectors
from topups.models import HandBack, Order, OrderStatus, status_label
from topups.selectors import books
from topups.services import lifecycle, tills
from topups.services.actors import SYNC, Actor

S = OrderStatus
pytestmark = pytest.mark.django_db


def sale(user, status, till=None, **extra) -> Order:
    fields = {"number": "036362608", "cost": Decimal(980), "price": Decimal(1000), **extra}
    return OrderFactory(**fields, status=status, created_by=user, till=till)


def menu_request(user, till=None) -> Order:
    """What the API makes of a GETMENU request: "refunded", 0 DZD, with the number's offers."""
    return sale(user, S.REFUNDED, till, service="mobile", line_type="", plan_code="GETMENU_Mobilis",
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


def test_a_cashier_reads_no_cost_in_an_orders_history(operator, supervisor, client):
    """The ledger sets a flexy top-up's cost to what the API debited, with a history note naming both
    costs, and a card the provider took back names its refund (the card's cost): a supervisor reads
    them on the order page, the cashier who sold it reads the move but no cost."""
    from topups.notes import COST_SET, TAKEN_BACK_NOTE, Note
    from topups.services.lifecycle import Change
    from topups.services.reconcile import RECONCILE

    order = sale(operator, S.FULFILLED, service="mobile", line_type="", plan_code="PREPAID_MOBILIS",
                 number="0661234567", value=Decimal(3999), cost=Decimal("3839.04"), price=Decimal(3999))
    note = Note(COST_SET, cost="3999.00", estimate="3839.04")
    lifecycle.apply_changes([Change(order.pk, None, fields={"cost": Decimal(3999)}, record=True, note=note)],
                            RECONCILE)
    url = reverse("topups:order", args=[order.pk])
    client.force_login(operator)
    page = client.get(url).content.decode()
    assert "3839" not in page and "3999.00" not in page and "3 999,00" not in page
    client.force_login(supervisor)
    assert "3839.04" in client.get(url).content.decode()
    card = sale(operator, S.FULFILLED, cost=Decimal("987.65"))
    assert lifecycle.move(card, S.TAKEN_BACK, Actor.user(supervisor),
                          note=Note(TAKEN_BACK_NOTE, amount="987.65", note="refund seen in the ledger"))
    url = reverse("topups:order", args=[card.pk])
    assert "987.65" in client.get(url).content.decode()
    client.force_login(operator)
    page = client.get(url).content.decode()
    # The refund's figure in any form (not "987" alone: a timestamp's microseconds may hold it).
    assert not re.search(r"987[.,\u00a0 ]?65", page) and "<strong>Card taken back</strong>" in page


def test_a_card_taken_back_today_but_sold_earlier_leaves_todays_cost_on_the_home_page_as_in_the_report(
        operator, supervisor):
    """A sale reversed later leaves the books on the day it is reversed (the report); the home page's
    cost of the day and each cashier's say the same."""
    from datetime import timedelta

    sale(operator, S.FULFILLED)
    earlier = sale(operator, S.FULFILLED, cost=Decimal(490), value=Decimal(500), price=Decimal(500))
    Order.objects.filter(pk=earlier.pk).update(created_at=timezone.now() - timedelta(days=2))
    earlier.refresh_from_db()
    lifecycle.move(earlier, S.TAKEN_BACK, Actor.user(supervisor))
    today = timezone.localdate()
    report = books.report(start=today, end=today)
    assert report.total.cost == Decimal(490)  # 980 sold today, 490 taken back today
    assert selectors.today_summary().total_cost == report.total.cost
    assert selectors.shop_overview().cashiers[0].total_cost == report.total.cost


def test_a_menu_request_answered_as_fulfilled_is_no_cashiers_sale(operator):
    """The home page's success rate and each cashier's fulfilled count leave a menu request aside,
    whichever of its two answers (refunded, fulfilled) the API gave."""
    menu = menu_request(operator)
    Order.objects.filter(pk=menu.pk).update(status=S.FULFILLED)
    sale(operator, S.FULFILLED)
    assert selectors.today_summary().fulfilled == 1
    assert selectors.shop_overview().cashiers[0].fulfilled == 1
