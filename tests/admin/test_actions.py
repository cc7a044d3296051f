"""The supervisors' admin: actions, masking, permissions, the catalog button."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from topups.lines.internet import catalog
from topups.models import Order, OrderStatus, Product
from topups.services import orders, sending
from topups.services.actors import Actor

S = OrderStatus
pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:topups_order_changelist")


@pytest.fixture
def admin_client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def new_order(user, number="036362600", value=1000) -> Order:
    order, _ = orders.create_order(line_type="ADSL", number=number, value=Decimal(value), actor=Actor.user(user))
    return order


def run_action(client, action, selected):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [o.pk for o in selected]}, follow=True)


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_send_selected_sends_new_orders_and_leaves_others(sim, supervisor, admin_client_for):
    catalog.sync_catalog()
    waiting = [new_order(supervisor, f"0363626{i:02d}") for i in range(3)]
    done = new_order(supervisor, "036362650")
    sending.send_order(order_id=done.pk, actor=Actor.user(supervisor))
    response = run_action(admin_client_for(supervisor), "send_selected", [*waiting, done])
    assert response.status_code == 200
    messages = texts(response)
    assert any("3 orders queued for sending" in m for m in messages)
    assert any("1 order left unchanged" in m and done.ref in m for m in messages)
    statuses = set(Order.objects.filter(pk__in=[o.pk for o in waiting]).values_list("status", flat=True))
    assert statuses == {S.HANDLING}  # tasks run inline in tests
    assert sim.stats()["refs"][done.ref]["attempts"] == 1  # not sent again


def test_refresh_action_on_unsent_orders_does_nothing_and_says_so(sim, supervisor, admin_client_for):
    order = new_order(supervisor)
    response = run_action(admin_client_for(supervisor), "refresh_selected", [order])
    assert response.status_code == 200
    assert any("left unchanged" in m for m in texts(response))
    order.refresh_from_db()
    assert order.status == S.NEW and sim.stats()["calls"].get("check-ref", 0) == 0


def test_refresh_action_brings_fulfilled_codes(sim, supervisor, admin_client_for):
    catalog.sync_catalog()
    order = new_order(supervisor)
    sending.send_order(order_id=order.pk, actor=Actor.user(supervisor))
    sim.advance(5)
    response = run_action(admin_client_for(supervisor), "refresh_selected", [order])
    assert any("Fulfilled: 1" in m for m in texts(response))
    order.refresh_from_db()
    assert order.status == S.FULFILLED
    page = admin_client_for(supervisor).get(reverse("admin:topups_order_change", args=[order.pk]))
    assert order.card_code in page.content.decode()


def test_card_code_is_masked_without_the_permission(sim, make_user, admin_client_for):
    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(*__import__("django.contrib.auth.models", fromlist=["Permission"]).Permission
                                .objects.filter(codename__in=["view_order"]))
    # Someone else's order: the admin follows the dashboard's one rule (owners see their own codes).
    order = new_order(make_user("owner"))
    Order.objects.filter(pk=order.pk).update(status=S.FULFILLED, card_code="123456789012")
    page = admin_client_for(viewer).get(reverse("admin:topups_order_change", args=[order.pk])).content.decode()
    assert "123456789012" not in page and "9012" in page


def test_actions_are_gated_by_permissions(sim, make_user, admin_client_for):
    from django.contrib.auth.models import Permission

    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_order"))
    order = new_order(viewer)
    client = admin_client_for(viewer)
    page = client.get(CHANGELIST).content.decode()
    assert "send_selected" not in page
    run_action(client, "send_selected", [order])
    order.refresh_from_db()
    assert order.status == S.NEW


def test_changelist_and_filters_render(sim, supervisor, admin_client_for):
    new_order(supervisor)
    client = admin_client_for(supervisor)
    for query in ("", "?status__exact=new", "?q=036362600", "?line_type__exact=ADSL"):
        assert client.get(CHANGELIST + query).status_code == 200


def test_refresh_catalog_button(sim, supervisor, admin_client_for):
    client = admin_client_for(supervisor)
    page = client.get(reverse("admin:topups_product_changelist")).content.decode()
    assert "Never refreshed" in page
    response = client.post(reverse("admin:topups_product_refresh"), follow=True)
    assert any("Catalog refreshed" in m for m in texts(response))
    assert Product.objects.filter(line_type="4G").count() == 5
    assert "Last refreshed" in response.content.decode()


def test_refresh_catalog_button_reports_api_trouble(sim, supervisor, admin_client_for):
    sim.inject_fault("products", "unavailable", count=20)
    response = admin_client_for(supervisor).post(reverse("admin:topups_product_refresh"), follow=True)
    assert response.status_code == 200
    assert any("ADSL" in m for m in texts(response))
    assert Product.objects.count() == 0


def test_operator_cannot_refresh_catalog(sim, operator, admin_client_for):
    operator.is_staff = True
    operator.save()
    response = admin_client_for(operator).post(reverse("admin:topups_product_refresh"))
    assert response.status_code == 403


def test_cancel_action_cancels_only_unsent_orders(sim, supervisor, admin_client_for):
    catalog.sync_catalog()
    waiting = new_order(supervisor)
    sent = new_order(supervisor, "036362650")
    sending.send_order(order_id=sent.pk, actor=Actor.user(supervisor))
    response = run_action(admin_client_for(supervisor), "cancel_selected", [waiting, sent])
    messages = texts(response)
    assert any("1 order cancelled" in m for m in messages)
    assert any("left unchanged" in m and sent.ref in m for m in messages)
    waiting.refresh_from_db()
    sent.refresh_from_db()
    assert waiting.status == S.CANCELLED and sent.status == S.HANDLING
    assert waiting.events.last().note == "Cancelled before sending"
