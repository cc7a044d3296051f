"""Orders waiting for the provider, as the claim tests start from: placed at the counter, then
moved through the status door as the sync would."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.factories import place
from topups.models import Order, OrderStatus
from topups.services import lifecycle
from topups.services.actors import SYNC

S = OrderStatus
CODE = "123456789012"


def to_status(order: Order, *path: str, **fields) -> Order:
    """Move ``order`` along ``path`` through the status door (the last move writes ``fields``)."""
    for index, status in enumerate(path):
        assert lifecycle.move(order, status, SYNC, **(fields if index == len(path) - 1 else {}))
    return Order.objects.get(pk=order.pk)


@pytest.fixture(autouse=True)
def fresh_throttles(settings):
    """The throttles' counters live in the cache, which a test's rollback may not empty."""
    cache.clear()
    settings.CLAIM_PAGE_RATE = settings.CLAIM_TRY_RATE = "1000/m"
    yield
    cache.clear()


@pytest.fixture
def queued(sim, operator):
    """An ADSL card paid at the counter and queued by Algérie Télécom."""
    order = place(operator, "036362691")
    return to_status(order, S.SENDING, S.HANDLING, S.QUEUED)


def fulfil(order: Order) -> Order:
    return to_status(order, S.FULFILLED, card_code=CODE, num_trans="TX-1")
