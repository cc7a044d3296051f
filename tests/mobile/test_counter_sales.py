"""Mobile top-ups ("flexy") sold at the counter through the test client and the simulator over
HTTP: the order sent once with its number normalised and its price, the order page and the receipt
as a confirmation, the uncertain outcome, and a suggested offer sent with one click."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.flexy_fixtures import NEW, form_ref, send
from topups.models import Order, OrderStatus

S = OrderStatus
pytestmark = pytest.mark.django_db


def test_plus_213_and_spaces_are_normalised_and_the_order_sent(counter, client):
    response = send(client, "+213 771 23 45 67", "PREPAID_DJEZZY", "1000")
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("topups:order", args=[order.pk])
    assert (order.service, order.plan_code, order.number, order.value) == (
        "mobile", "PREPAID_DJEZZY", "0771234567", Decimal(1000))
    assert (order.cost, order.price) == (Decimal("992.50"), Decimal("1012.50"))  # face value + the 12.50 DA fee
    assert order.till is not None


def test_a_resubmitted_form_makes_one_order(counter, client):
    data = {"service": "mobile", "ref": form_ref(client), "number": "0771234567", "plan_code": "PREPAID_DJEZZY",
            "amount": "1000"}
    first, second = client.post(NEW, data), client.post(NEW, data)
    assert first["Location"] == second["Location"] and Order.objects.count() == 1


def fulfil(sim, order) -> Order:
    from topups.services import sync
    from topups.services.actors import SYNC

    sim.advance(60)
    sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=SYNC)
    return Order.objects.get(pk=order.pk)


def test_order_page_and_receipt_are_a_confirmation(counter, client):
    send(client, "0771234567", "PREPAID_DJEZZY", "1000")
    order = fulfil(counter, Order.objects.get())
    assert order.status == S.FULFILLED
    page = client.get(reverse("topups:order", args=[order.pk])).content.decode()
    assert 'id="flexy-confirmation"' in page and "Top-up sent" in page and order.topup_id in page
    assert "Card code" not in page and "Done: the credit was sent to the number." in page
    receipt = client.get(reverse("topups:order_receipt", args=[order.pk])).content.decode()
    assert 'id="topup-sent"' in receipt and order.topup_id in receipt and "0771234567" in receipt
    assert "1,000 DA" in receipt and "Card code" not in receipt and 'id="no-receipt"' not in receipt


def test_an_uncertain_outcome_says_do_not_refund_until_it_resolves(counter, client):
    send(client, "0700000003", "PREPAID_DJEZZY", "1000")  # the simulator answers UNKNOWN_ERROR, then FULFILLED
    order = fulfil(counter, Order.objects.get())
    assert order.status == S.UNCERTAIN and order.refund_message
    page = client.get(reverse("topups:order", args=[order.pk])).content.decode()
    assert "Outcome not known yet — do not refund." in page and 'id="outcome-unknown"' in page
    assert f'<p lang="ar" dir="rtl" class="refund-message">{order.refund_message}</p>' in page
    assert "To hand back" not in page  # a sale until it is refunded
    status = client.get(reverse("topups:order_status", args=[order.pk])).json()
    assert status["final"] is False and "do not refund" in status["explanation"]
    receipt = client.get(reverse("topups:order_receipt", args=[order.pk])).content.decode()
    # The customer reads our sentence, in their language; the API's note to the shop stays on the staff's page.
    assert "The operator has not confirmed the top-up yet" in receipt and order.refund_message not in receipt
    counter.advance(3600)
    order = fulfil(counter, order)
    assert order.status == S.FULFILLED
    assert 'id="flexy-confirmation"' in client.get(reverse("topups:order", args=[order.pk])).content.decode()


def test_a_suggested_offer_is_sent_with_one_click_as_a_new_order(counter, client):
    send(client, "0700000002", "PREPAID_DJEZZY", "1000")  # refunded: the number takes other offers
    refused = fulfil(counter, Order.objects.get())
    assert refused.status == S.REFUNDED and refused.suggested_offers
    response = client.get(reverse("topups:order", args=[refused.pk]))
    page = response.content.decode()
    assert 'id="suggested-offers"' in page and refused.refund_message in page
    offer = response.context["offers"][0]
    assert f'data-offer="{offer["plan_code"]}"' in page
    data = {key: offer[key] for key in ("ref", "number", "plan_code", "amount")}
    response = client.post(NEW, {"service": "mobile", **data})
    new = Order.objects.exclude(pk=refused.pk).get()
    assert response["Location"] == reverse("topups:order", args=[new.pk])
    assert (new.plan_code, new.number) == (offer["plan_code"], "0700000002") and new.ref != refused.ref
    assert client.post(NEW, {"service": "mobile", **data})["Location"] == response["Location"]  # one click, once


def test_admin_actions_work_on_mobile_orders(counter, client, supervisor):
    from topups.services import orders, tills
    from topups.services.actors import Actor

    boss = Actor.user(supervisor)
    tills.open_till(actor=boss, opening_cash="0")
    waiting = [orders.create_order(service="mobile", plan_code="PREPAID_DJEZZY", number=f"07712345{i:02d}",
                                   value=Decimal(1000), actor=boss)[0] for i in range(2)]
    never = orders.create_order(service="mobile", plan_code="PIXX_500", number="0661234567", value=None,
                                actor=boss)[0]
    client.force_login(supervisor)
    changelist = reverse("admin:topups_order_changelist")

    def act(action, selected):
        return client.post(changelist, {"action": action, "_selected_action": [o.pk for o in selected]}, follow=True)

    assert act("send_selected", waiting).status_code == 200
    assert set(Order.objects.filter(pk__in=[o.pk for o in waiting]).values_list("status", flat=True)) == {S.HANDLING}
    act("cancel_selected", [never])
    assert Order.objects.get(pk=never.pk).status == S.CANCELLED
    counter.advance(60)
    act("refresh_selected", waiting)
    assert set(Order.objects.filter(pk__in=[o.pk for o in waiting]).values_list("status", flat=True)) == {S.FULFILLED}
    export = client.post(changelist, {"action": "export_selected_csv", "_selected_action": [o.pk for o in waiting]})
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    assert body.count("PREPAID_DJEZZY") == 2 and body.count(",Mobile top-up,") == 2
    assert counter.stats()["total_debited"] == Decimal("1985.00")  # 2 x 1000 x 0.9925, the cancelled one never sent


def test_a_menu_request_shows_the_numbers_offers_and_charges_nothing(counter, client):
    response = send(client, "0778037340", "GETMENU_Djezzy")  # the number only
    menu = fulfil(counter, Order.objects.get())
    assert response.status_code == 302 and (menu.value, menu.price) == (0, 0)
    assert menu.status == S.REFUNDED and menu.suggested_offers
    page = client.get(reverse("topups:order", args=[menu.pk])).content.decode()
    assert "offers are listed below: send the one the customer wants" in page and 'id="suggested-offers"' in page
    assert 'id="hand-back"' not in page and "Refund the customer" not in page
    assert counter.stats()["total_debited"] == 0
