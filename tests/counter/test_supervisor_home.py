"""The supervisor's home shows the shop: what needs them, the queue, each cashier's day and the
shop's latest orders; an operator's home stays their own."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from topups.models import Order, OrderStatus
from topups.services import orders
from topups.services.actors import Actor

pytestmark = pytest.mark.django_db
S = OrderStatus


def place(user, number, status) -> Order:
    order, _ = orders.create_order(line_type="ADSL", number=number, value=Decimal(1000), actor=Actor.user(user))
    Order.objects.filter(pk=order.pk).update(status=status, cost=Decimal("980.00") if status == S.FULFILLED else None)
    return Order.objects.get(pk=order.pk)


def test_the_supervisors_home_shows_the_shop(sim, client, operator, supervisor, make_user,
                                            django_assert_max_num_queries):
    other = make_user("nadia", "Operators")
    stuck = place(operator, "036362601", S.ATTENTION)
    place(operator, "036362602", S.QUEUED)
    place(other, "036362603", S.FULFILLED)
    place(other, "036362604", S.FULFILLED)
    client.force_login(supervisor)
    client.get(reverse("topups:home"))
    with django_assert_max_num_queries(15):  # 15th: the API reachability record (a cache read; none with Redis)
        html = client.get(reverse("topups:home")).content.decode()
    assert "My recent orders" not in html and "Latest orders in the shop" in html
    attention = html[html.index('id="needs-attention"'):html.index('id="queued"')]
    assert stuck.ref in attention and '<p class="big bad">1</p>' in attention
    assert '<p class="big">1</p>' in html[html.index('id="queued"'):html.index('id="per-cashier"')]
    cashiers = html[html.index('id="per-cashier"'):]
    assert "nadia" in cashiers and "olga" in cashiers and "1,960.00" in cashiers
    assert all(order.ref in html for order in Order.objects.all())


def test_an_operators_home_is_their_own(client, operator, make_user):
    theirs = place(operator, "036362601", S.FULFILLED)
    colleague = place(make_user("nadia", "Operators"), "036362602", S.ATTENTION)
    client.force_login(operator)
    html = client.get(reverse("topups:home")).content.decode()
    assert "My recent orders" in html and theirs.ref in html and colleague.ref not in html
    assert 'id="needs-attention"' not in html
