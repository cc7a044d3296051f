"""Gift cards in the supervisors' admin: the catalogue with its refresh button and each product's
cards and instructions; an order added by the admin's form; the send, refresh and cancel actions on
gift-card orders, reported like any other order's."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.admin.test_actions import run_action, texts
from tests.counter.test_typed_numbers import INLINE
from tests.giftcards.conftest import PSN
from tests.giftcards.test_pipeline import place
from topups.models import GiftProduct, Order, OrderStatus
from topups.services import tills
from topups.services.actors import Actor

S = OrderStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor_in_admin(gift, client, supervisor):
    tills.open_till(actor=Actor.user(supervisor), opening_cash="0")
    client.force_login(supervisor)
    return client


def test_the_catalogue_page_and_its_refresh_button(supervisor_in_admin, gift):
    page = supervisor_in_admin.get(reverse("admin:topups_giftproduct_changelist"))
    assert page.status_code == 200 and "PlayStation Network" in page.content.decode()
    assert "refresh-gift-catalog" in page.content.decode()
    gift.set_gift_product(PSN, enabled=False)
    response = supervisor_in_admin.post(reverse("admin:topups_giftproduct_refresh"), follow=True)
    assert any("Gift card catalogue refreshed" in m for m in texts(response))
    assert not GiftProduct.objects.get(product_id=PSN).enabled
    product = GiftProduct.objects.get(product_id=PSN)
    detail = supervisor_in_admin.get(reverse("admin:topups_giftproduct_change", args=[product.pk]))
    assert detail.status_code == 200 and "PSN 500 DA" in detail.content.decode()


def test_the_add_form_creates_a_gift_card_order(supervisor_in_admin):
    form = {"service": "giftcard", "line_type": "", "plan_code": f"{PSN}:type_001", "number": "3", "value": "0",
            "note": "", **INLINE}
    response = supervisor_in_admin.post(reverse("admin:topups_order_add"), form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    order = Order.objects.get()
    assert order.service == "giftcard" and order.number == "3" and order.cost == Decimal("1470")


def test_send_refresh_and_cancel_actions(supervisor_in_admin, gift, supervisor):
    waiting, to_cancel = place(supervisor), place(supervisor, quantity=1)
    response = run_action(supervisor_in_admin, "send_selected", [waiting])
    assert any("queued for sending" in m for m in texts(response))
    assert Order.objects.get(pk=waiting.pk).status == S.HANDLING
    gift.advance(5)
    response = run_action(supervisor_in_admin, "refresh_selected", [waiting])
    assert Order.objects.get(pk=waiting.pk).status == S.FULFILLED
    response = run_action(supervisor_in_admin, "cancel_selected", [to_cancel, waiting])
    assert Order.objects.get(pk=to_cancel.pk).status == S.CANCELLED
    assert Order.objects.get(pk=waiting.pk).status == S.FULFILLED
