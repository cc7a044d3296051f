"""The gift-card tests' shared fixture: the simulator with the gift catalogue cached."""

from __future__ import annotations

from decimal import Decimal

import pytest

from topups.lines.giftcards import catalog as gift_catalog
from topups.models import GiftType

PSN = "507f1f77bcf86cd799439011"
STEAM = "507f1f77bcf86cd799439014"


@pytest.fixture
def gift(sim, settings):
    """The simulator with the gift catalogue cached and PSN's types checked, as the counter has them."""
    settings.GIFT_LIST_LAG_SECONDS = 0
    settings.ONECLICKDZ_RESEND_AFTER_SECONDS = 0
    settings.GIFT_CLOCK_SKEW_SECONDS = 1
    assert gift_catalog.sync_catalog().ok
    gift_catalog.check_types(PSN)
    # The sandbox's outcome selectors, priced as the simulator prices them (its cheapest PSN type).
    product = GiftType.objects.get(type_id="type_001").product
    for selector in ("TEST_PARTIAL", "TEST_REFUND"):
        GiftType.objects.create(product=product, type_id=selector, name=f"PSN {selector}", price=Decimal("490"))
    return sim


