"""Fewer API calls per order: the balance follows each order locally (debited when the API accepts
it, credited when it refunds it) instead of a balance call per send task, and a number check is
reused for the same line for a while."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from topups import tasks
from topups.lines.internet import catalog
from topups.models import ApiAccount, Order, OrderStatus
from topups.services import account, orders, sending, sync
from topups.services.actors import SYNC, Actor

S = OrderStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(sim, operator, settings):
    settings.ONECLICKDZ_NUMBER_CHECK_REUSE_SECONDS = 600
    assert catalog.sync_catalog().ok
    assert tasks.refresh_balance() is not None
    keys = [sending.number_check_key("ADSL", number) for number in ("036362600", "036362690")]
    cache.delete_many(keys)
    yield Actor.user(operator)
    cache.delete_many(keys)  # a shared cache (Redis) outlives the test


def cached_balance() -> Decimal:
    return ApiAccount.objects.get(key_fingerprint=account.current_fingerprint()).balance


def send(staff, number: str) -> Order:
    order, _ = orders.create_order(line_type="ADSL", number=number, value=Decimal(1000), actor=staff)
    reports = tasks.send_orders([order.pk], staff.label, staff.user_id)
    assert [r["outcome"] for r in reports] == ["sent"]
    return Order.objects.get(pk=order.pk)


def test_the_balance_follows_each_order_without_a_balance_call(sim, staff):
    before, calls = cached_balance(), sim.stats()["calls"].get("balance", 0)
    order = send(staff, "036362600")
    assert cached_balance() == before - order.cost == sim.stats()["balance"]
    refunded = send(staff, "036362690")  # the simulator refunds this line
    assert cached_balance() == before - order.cost - refunded.cost
    sim.advance(5)
    sync.refresh_orders(list(Order.objects.filter(pk__in=[order.pk, refunded.pk])), actor=SYNC)
    assert Order.objects.get(pk=refunded.pk).status == S.REFUNDED
    assert cached_balance() == before - order.cost == sim.stats()["balance"]
    assert sim.stats()["calls"].get("balance", 0) == calls  # no balance call after the sends


def test_a_send_tried_again_reuses_the_number_check(sim, staff):
    order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000), actor=staff)
    sim.inject_fault("send", "rate_limit", count=1)  # certainly not processed: back to wait
    assert [r["outcome"] for r in tasks.send_orders([order.pk], staff.label, staff.user_id)] == ["retry"]
    checks = sim.stats()["calls"]["check-number"]
    assert [r["outcome"] for r in tasks.send_orders([order.pk], staff.label, staff.user_id)] == ["sent"]
    assert sim.stats()["calls"]["check-number"] == checks == 1
    order.refresh_from_db()
    assert order.status == S.HANDLING and order.ncli and order.offre
