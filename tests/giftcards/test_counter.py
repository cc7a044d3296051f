"""Gift cards at the counter through the test client and the simulator over HTTP: the tab shows
categories, then a product's cards with price and stock; a sale is sent once (a resubmitted form
makes no second order); out of stock and disabled products are refused before anything is sent; the
order page and the receipt list every card, its serial, and the product's instructions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.conftest import printed_text
from topups.lines.giftcards import catalog as gift_catalog
from topups.models import GiftInstructions, GiftProduct, Order, OrderStatus

S = OrderStatus
pytestmark = pytest.mark.django_db
NEW = reverse("topups:new_order_line", args=["giftcard"])
PSN = "507f1f77bcf86cd799439011"


@pytest.fixture
def gift_counter(counter, client, settings):
    settings.GIFT_LIST_LAG_SECONDS = 0
    return counter


def form_ref(client, **query) -> str:
    response = client.get(NEW, query)
    assert response.status_code == 200
    return response.context["form"]["ref"].value()


def test_the_tab_shows_categories_then_a_products_cards(gift_counter, client):
    page = client.get(NEW)
    text = page.content.decode()
    assert page.status_code == 200 and "Gaming Cards" in text and "PlayStation Network" in text
    assert "Steam Wallet" not in text  # disabled by the provider
    page = client.get(NEW, {"product": PSN})
    text = printed_text(page.content.decode())
    assert "PSN 500 DA" in text and "150 in stock" in text and "out of stock" in text


def test_a_sale_is_sent_once_and_its_cards_shown(gift_counter, client):
    data = {"ref": form_ref(client, product=PSN), "product": PSN, "type_id": "type_001", "quantity": "2"}
    first, second = client.post(NEW, data), client.post(NEW, data)
    assert first.status_code == 302 and second.status_code == 302
    order = Order.objects.get()
    # The shop's default rule (priced_shop) on each card's cost, times two.
    assert order.service == "giftcard" and order.status == S.HANDLING and order.cost == Decimal("980")
    assert order.price == Decimal("1020.00")
    gift_counter.advance(5)
    from tests.giftcards.test_pipeline import refresh

    refresh(order)
    GiftInstructions.objects.create(product=GiftProduct.objects.get(product_id=PSN), language="en",
                                    text="Redeem on the PlayStation Store.")
    page = printed_text(client.get(reverse("topups:order", args=[order.pk])).content.decode())
    assert "SANDBOX-CARD-1" in page and "SANDBOX-CARD-2" in page and "SANDBOX-2" in page
    receipt = printed_text(client.get(reverse("topups:order_receipt", args=[order.pk])).content.decode())
    assert "SANDBOX-2" in receipt and "Redeem on the PlayStation Store." in receipt


def test_out_of_stock_and_disabled_are_told_before_sending(gift_counter, client):
    data = {"ref": form_ref(client, product=PSN), "product": PSN, "type_id": "type_003", "quantity": "1"}
    response = client.post(NEW, data)
    assert response.status_code == 400 and "Out of stock" in response.content.decode()
    gift_counter.set_gift_product(PSN, enabled=False)
    assert gift_catalog.sync_catalog().ok
    data = {"ref": form_ref(client), "product": PSN, "type_id": "type_001", "quantity": "1"}
    response = client.post(NEW, data)
    assert response.status_code == 400
    assert not Order.objects.exists() and gift_counter.stats()["orders"] == 0


def test_the_same_cards_again_ask_the_clerk_first(gift_counter, client):
    data = {"ref": form_ref(client, product=PSN), "product": PSN, "type_id": "type_001", "quantity": "1"}
    assert client.post(NEW, data).status_code == 302
    again = {**data, "ref": form_ref(client, product=PSN)}
    warned = client.post(NEW, again)
    assert warned.status_code == 200 and "The same cards were sold recently." in warned.content.decode()
    assert client.post(NEW, {**again, "repeat_of": warned.context["form"].same_line_refs[0]}).status_code == 302
    assert Order.objects.count() == 2


def test_the_export_lists_the_cards_through_the_audited_door(gift_counter, client, supervisor):
    import csv
    import io

    from topups.models import AuditEvent

    data = {"ref": form_ref(client, product=PSN), "product": PSN, "type_id": "type_001", "quantity": "2"}
    client.post(NEW, data)
    gift_counter.advance(5)
    from tests.giftcards.test_pipeline import refresh

    refresh(Order.objects.get())
    client.force_login(supervisor)
    body = b"".join(client.get(reverse("topups:order_export")).streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    row = dict(zip(rows[0], rows[1], strict=True))
    # Every card on the cell's one line, with its serial.
    assert row["Card code"] == "SANDBOX-CARD-1 (serial SANDBOX-1); SANDBOX-CARD-2 (serial SANDBOX-2)"
    order = Order.objects.get()
    assert AuditEvent.objects.filter(action="reveal_code", actor_label=supervisor.username, target=order.ref).exists()


def test_another_cashier_sees_the_cards_masked(gift_counter, client, make_user):
    data = {"ref": form_ref(client, product=PSN), "product": PSN, "type_id": "type_001", "quantity": "2"}
    client.post(NEW, data)
    gift_counter.advance(5)
    from tests.giftcards.test_pipeline import refresh

    order = refresh(Order.objects.get())
    client.force_login(make_user("nadia", "Operators"))
    page = printed_text(client.get(reverse("topups:order", args=[order.pk])).content.decode())
    assert "SANDBOX-CARD" not in page and "SANDBOX-2" not in page
