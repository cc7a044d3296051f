"""Fixtures and helpers of the ledger tests: the simulator with the catalog cached, orders that
settle at once, no grace period, and a way to sell an order through the real send path."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from topups.lines.internet import catalog
from topups.models import Order
from topups.services import ledger, orders, reconcile, sending, sync
from topups.services.actors import SYNC


@pytest.fixture
def books(sim, settings):
    """The simulator with the catalog cached, orders settling at once, no ledger sync lock left."""
    settings.LEDGER_GRACE_SECONDS = 0
    sim.configure(fulfil_after=0)
    cache.delete(ledger.SYNC_LOCK)
    cache.delete(reconcile.CHAIN_LOCK)
    assert catalog.sync_catalog().ok
    yield sim
    cache.delete(ledger.SYNC_LOCK)
    cache.delete(reconcile.CHAIN_LOCK)


def sell_order(staff, number: str, value: int = 1000, line_type: str = "ADSL") -> Order:
    order, _ = orders.create_order(line_type=line_type, number=number, value=Decimal(value), actor=staff)
    sending.send_order(order_id=order.pk, actor=staff)
    sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=SYNC)
    return Order.objects.get(pk=order.pk)




@pytest.fixture
def sell(books):
    """``sell(staff, number, value=1000, line_type="ADSL")``: an order created, sent and refreshed."""
    return sell_order
