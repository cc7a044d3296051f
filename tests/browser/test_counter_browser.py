"""The counter as a clerk lives it, in a real Chromium: search by what the customer says, the
warning before a second top-up of the same line, the order page's grid, Arabic direction."""

from __future__ import annotations

from decimal import Decimal

import pytest

from topups.models import Order, OrderStatus
from topups.services import orders
from topups.services.actors import Actor

from .test_dashboard_browser import log_in

S = OrderStatus
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
CODE = "918273645501"


def place(user, number, line_type="4G", value=1500, **fields) -> Order:
    order, _ = orders.create_order(line_type=line_type, number=number, value=Decimal(value), actor=Actor.user(user))
    if fields:
        Order.objects.filter(pk=order.pk).update(**fields)
    return Order.objects.get(pk=order.pk)


def test_search_by_what_the_customer_says(page, live_server, operator, shot):
    lte = place(operator, "213665983439", status=S.FULFILLED, card_code=CODE, num_trans="TX-2026-004471")
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
    shot(page, "orders-search-by-code")
