"""A supervisor settles an accepted order that needs attention from its admin page: the link, the
form (a missing card code is told, nothing changes), then the order is fulfilled with the code
entered and the note in its history. No CSP violation on the way."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from topups.lines.internet import catalog
from topups.models import Order, OrderEvent, OrderStatus
from topups.services import orders, planning, sending, sync
from topups.services.actors import SYNC, Actor

from .pages import log_in

S = OrderStatus
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def stuck(sim, operator):
    """Accepted by the API, still processing after 6 hours: it needs attention."""
    assert catalog.sync_catalog().ok
    order, _ = orders.create_order(line_type="ADSL", number="036362693", value=Decimal(1000),
                                   actor=Actor.user(operator))
    assert sending.send_order(order_id=order.pk, actor=Actor.user(operator)).outcome == "sent"
    Order.objects.filter(pk=order.pk).update(sent_at=timezone.now() - planning.HANDLING_LIMIT - timedelta(minutes=5))
    sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=SYNC)
    order.refresh_from_db()
    assert order.status == S.ATTENTION
    return order


def test_supervisor_settles_an_order_stuck_in_attention(page, live_server, supervisor, stuck, shot):
    violations = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text
            else None)
    log_in(page, live_server, "sam", "pw-sam")
    page.goto(f"{live_server.url}/admin/topups/order/{stuck.pk}/change/")
    page.get_by_role("link", name="Settle with what OneClickDZ support said").click()
    page.check("input[name=outcome][value=fulfilled]")
    page.fill("textarea[name=note]", "Ticket 7781: delivered late")
    page.get_by_role("button", name="Settle").click()
    assert "Enter the card code" in page.inner_text("#content")
    assert Order.objects.get(pk=stuck.pk).status == S.ATTENTION
    page.check("input[name=outcome][value=fulfilled]")
    page.fill("input[name=card_code]", "4455 6677 8899")
    page.fill("textarea[name=note]", "Ticket 7781: delivered late")
    shot(page, "admin-settle")
    page.get_by_role("button", name="Settle").click()
    page.wait_for_selector(".messagelist .success")
    assert "settled" in page.inner_text(".messagelist")
    order = Order.objects.get(pk=stuck.pk)
    assert order.status == S.FULFILLED and order.card_code == "445566778899"
    assert "Ticket 7781" in OrderEvent.objects.filter(order=order).last().note
    assert violations == []
