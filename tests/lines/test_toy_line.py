"""A third product line is a plug-in: the toy line (tests/lines/toy/, test-only) registers itself and
is sold through the counter, the admin's send action and a bulk file, followed to fulfilled by the
sync and booked in the reports and the cash session, with no shared code knowing it. (The at-most-once
scenarios run against it too: tests/orders/test_at_most_once.py.)"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.lines import toy
from topups import lines
from topups.models import Order, OrderStatus
from topups.selectors import books
from topups.services import batches, tills
from topups.services.actors import Actor

S = OrderStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def toy_line():
    line = toy.register()
    yield line
    toy.unregister()


def issued_ref(page: str) -> str:
    return re.search(r'name="ref" value="([^"]+)"', page).group(1)


def test_the_toy_line_is_sold_at_the_counter_followed_to_fulfilled_and_booked(toy_line, counter, client, operator):
    page = client.get(reverse("topups:new_order")).content.decode()
    assert 'id="tab-toy"' in page and "Toy vouchers" in page  # a tab of its own, beside the others
    form = client.get(reverse("topups:new_order_line", args=["toy"])).content.decode()
    assert 'id="toy-order"' in form and 'id="tab-toy" aria-current="page"' in form

    response = client.post(reverse("topups:new_order_line", args=["toy"]),
                           {"number": "036362600", "value": "1000", "ref": issued_ref(form)})
    order = Order.objects.get()
    assert response.status_code == 302 and response.url == reverse("topups:order", args=[order.pk])
    assert (order.service, order.number, order.value, order.cost) == ("toy", "036362600", Decimal(1000), Decimal(980))
    assert order.price == Decimal(1000)  # the shop's default rule: cost + 20 DA
    assert order.status == S.HANDLING and counter.stats()["refs"][order.ref]["attempts"] == 1

    counter.advance(5)
    order = factories.refresh(order)
    assert order.status == S.FULFILLED and order.card_code
    shown = client.get(reverse("topups:order", args=[order.pk])).content.decode()
    assert order.card_code in shown and "Toy voucher" in shown
    receipt = client.get(reverse("topups:order_receipt", args=[order.pk])).content.decode()
    assert "Toy voucher" in receipt and order.card_code[:4] in receipt

    today = timezone.localdate()
    by_service = {row.label: row for row in books.report(start=today, end=today, group="service").rows}
    assert by_service["Toy voucher"].orders == 1 and by_service["Toy voucher"].revenue == Decimal(1000)
    by_product = {row.label for row in books.report(start=today, end=today, group="product").rows}
    assert "Toy 1000" in by_product
    till = tills.open_till_of(operator.pk)
    assert tills.figures(till).sales == Decimal(1000)
    listed = client.get(reverse("topups:orders") + "?line_type=toy").content.decode()
    assert order.ref in listed


def test_a_bad_toy_value_is_told_at_the_counter_and_nothing_is_sent(toy_line, counter, client):
    form = client.get(reverse("topups:new_order_line", args=["toy"])).content.decode()
    response = client.post(reverse("topups:new_order_line", args=["toy"]),
                           {"number": "036362600", "value": "750", "ref": issued_ref(form)})
    assert response.status_code == 400 and not Order.objects.exists()


def test_the_toy_line_is_sent_by_the_admin_action_and_followed(toy_line, synced, supervisor, client):
    order = factories.place(supervisor, service="toy", number="036362601", value=2000)
    client.force_login(supervisor)
    response = client.post(reverse("admin:topups_order_changelist"),
                           {"action": "send_selected", "_selected_action": [order.pk]}, follow=True)
    assert response.status_code == 200
    synced.advance(5)
    order = factories.refresh(Order.objects.get(pk=order.pk))
    assert order.status == S.FULFILLED and synced.stats()["refs"][order.ref]["attempts"] == 1
    assert factories.history(order)[-1] == (S.HANDLING, S.FULFILLED)


def test_the_toy_line_is_sold_from_a_bulk_file_beside_internet_cards(toy_line, synced, supervisor):
    actor = Actor.user(supervisor)
    data = b"type,number,value\nTOY,036362602,500\nTOY,036362603,750\nADSL,036362604,1000\n"
    batch = batches.preview_batch(file_name="toys.csv", data=data, actor=actor)
    services = [(row["service"], bool(row["errors"])) for row in batch.rows]
    assert services == [("toy", False), ("toy", True), ("internet", False)]
    result = batches.confirm_batch(batch_id=batch.pk, actor=actor, accept_stale_balance=True)
    assert result.created == 2
    made = {o.service: o for o in Order.objects.all()}
    assert made["toy"].value == Decimal(500) and made["toy"].cost == Decimal(490)
    synced.advance(5)
    toy_order = factories.refresh(made["toy"])
    assert toy_order.status == S.FULFILLED and toy_order.card_code


def test_unregistered_the_toy_line_leaves_no_trace(toy_line):
    assert lines.get("toy") is toy_line
    toy.unregister()
    assert lines.find("toy") is None and "toy" not in lines.codes()
    toy.register()
