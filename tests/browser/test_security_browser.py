"""Card codes in a real Chromium: the home page's recent orders and the live list audit what they
reveal (one row per order per view, none per poll), and no page carrying a code may be cached."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.browser.pages import log_in
from topups.lines.internet import catalog
from topups.models import AuditEvent, Order, OrderStatus
from topups.services import orders, sending, sync
from topups.services.actors import SYNC, Actor

S = OrderStatus
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def reveals() -> list[tuple[str, str]]:
    return list(AuditEvent.objects.filter(action="reveal_code").order_by("id").values_list("target", "detail__via"))


def test_home_and_live_rows_audit_each_reveal_once(page, live_server, operator, sim):
    assert catalog.sync_catalog().ok
    done = orders.create_order(line_type="ADSL", number="036362601", value=Decimal(1000), actor=Actor.user(operator))[0]
    sending.send_order(order_id=done.pk, actor=Actor.user(operator))
    sim.advance(10)
    sync.refresh_orders([Order.objects.get(pk=done.pk)], actor=SYNC)
    done.refresh_from_db()
    live = orders.create_order(line_type="ADSL", number="036362602", value=Decimal(1000), actor=Actor.user(operator))[0]
    sending.send_order(order_id=live.pk, actor=Actor.user(operator))
    assert done.status == S.FULFILLED and Order.objects.get(pk=live.pk).status == S.HANDLING

    log_in(page, live_server)
    row = page.locator(f"tr[data-order='{live.pk}'] [data-code]")
    assert done.card_code in page.inner_text(f"tr[data-order='{done.pk}']")
    with page.expect_response(lambda r: "/orders/status.json" in r.url):  # the live row polls
        pass
    sim.advance(10)
    sync.refresh_orders([Order.objects.get(pk=live.pk)], actor=SYNC)
    live.refresh_from_db()
    page.wait_for_function("([el, code]) => el.textContent.includes(code)",
                           arg=[row.element_handle(), live.card_code], timeout=15_000)
    assert reveals() == [(done.ref, "home page"), (live.ref, "status.json")]

    response = page.goto(live_server.url + f"/orders/{live.pk}/")
    assert "no-store" in response.headers["cache-control"]
    assert page.inner_text("#card-code") == live.card_code
    assert reveals()[-1] == (live.ref, "order page") and len(reveals()) == 3
