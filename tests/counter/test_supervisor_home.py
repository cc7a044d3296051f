"""The supervisor's home shows the shop: what needs them, the queue, each cashier's day and the
shop's latest orders; an operator's home stays their own."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import place
from topups.models import Order, OrderStatus

pytestmark = pytest.mark.django_db
S = OrderStatus


def shop_order(user, number, status) -> Order:
    return place(user, number, status=status, cost=Decimal("980.00") if status == S.FULFILLED else None)


def test_the_supervisors_home_shows_the_shop(sim, client, operator, supervisor, make_user,
                                            django_assert_max_num_queries):
    other = make_user("nadia", "Operators")
    stuck = shop_order(operator, "036362601", S.ATTENTION)
    shop_order(operator, "036362602", S.QUEUED)
    shop_order(other, "036362603", S.FULFILLED)
    shop_order(other, "036362604", S.FULFILLED)
    client.force_login(supervisor)
    client.get(reverse("topups:home"))
    with django_assert_max_num_queries(16):  # 15th: the API reachability record (a cache read; none with Redis); 16th: the waiting list's second count
        html = client.get(reverse("topups:home")).content.decode()
    assert "My recent orders" not in html and "Latest orders in the shop" in html
    attention = html[html.index('id="needs-attention"'):html.index('id="queued"')]
    assert stuck.ref in attention and '<p class="big bad">1</p>' in attention
    assert '<p class="big">1</p>' in html[html.index('id="queued"'):html.index('id="per-cashier"')]
    cashiers = html[html.index('id="per-cashier"'):]
    assert "nadia" in cashiers and "olga" in cashiers and "1,960.00" in cashiers
    assert all(order.ref in html for order in Order.objects.all())


def test_an_operators_home_is_their_own(client, operator, make_user):
    theirs = shop_order(operator, "036362601", S.FULFILLED)
    colleague = shop_order(make_user("nadia", "Operators"), "036362602", S.ATTENTION)
    client.force_login(operator)
    html = client.get(reverse("topups:home")).content.decode()
    assert "My recent orders" in html and theirs.ref in html and colleague.ref not in html
    assert 'id="needs-attention"' not in html
