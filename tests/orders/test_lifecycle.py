"""The one door for status changes (topups.services.lifecycle): the same rule for an illegal move
through every path, nothing written when one is asked, and planning that only asks legal moves."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import place
from topups.models import TRACKED_STATUSES, Order, OrderEvent, OrderStatus
from topups.oneclick import LineType as ApiLineType
from topups.oneclick import Topup, TopupStatus
from topups.services import lifecycle, planning
from topups.services.actors import SYNC
from topups.services.lifecycle import Change, IllegalTransition

S = OrderStatus


@pytest.mark.django_db
def test_an_illegal_move_in_a_batch_raises_and_writes_nothing(staff):
    legal, illegal = place(staff, "036362600"), place(staff, "036362601")
    events_before = OrderEvent.objects.count()
    with pytest.raises(IllegalTransition):
        lifecycle.apply_changes([Change(legal.pk, S.NEW, S.CANCELLED, note="legal"),
                                 Change(illegal.pk, S.NEW, S.FULFILLED, note="illegal")], SYNC)
    assert set(Order.objects.values_list("status", flat=True)) == {S.NEW}
    assert OrderEvent.objects.count() == events_before


@pytest.mark.django_db
def test_an_illegal_move_raises_the_same_for_one_order_and_for_a_stale_one(staff):
    order = place(staff, "036362602")
    with pytest.raises(IllegalTransition):
        lifecycle.move(order, S.REFUNDED, staff)
    # Even when the order moved meanwhile (the change would be skipped), the move is refused.
    lifecycle.move(order, S.CANCELLED, staff, note="cancelled")
    with pytest.raises(IllegalTransition):
        lifecycle.apply_changes([Change(order.pk, S.NEW, S.QUEUED)], SYNC)
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED


@pytest.mark.django_db
def test_a_change_for_an_order_that_moved_meanwhile_is_skipped_not_forced(staff):
    order = place(staff, "036362603")
    applied = lifecycle.apply_changes([Change(order.pk, S.UNKNOWN, S.HANDLING)], SYNC)
    assert applied == {} and Order.objects.get(pk=order.pk).status == S.NEW


@pytest.mark.django_db
def test_creation_only_makes_new_orders(staff):
    with pytest.raises(IllegalTransition):
        lifecycle.create_orders([Order(line_type="ADSL", number="036362604", value=Decimal(1000),
                                       status=S.FULFILLED)], staff, note="born fulfilled")
    assert not Order.objects.exists()


def _topups():
    codes = ("", "1234-5678-9012")
    for status, code, type_ in itertools.product(
            [*TopupStatus, TopupStatus("SOMETHING_NEW")], codes, [ApiLineType.ADSL, ApiLineType.LTE]):
        yield Topup(id="T1", ref="OC-1", status=status, type=type_, number="036362600", value=Decimal(1000),
                    created_at=None, card_code=code)


# Where planning is asked about an order: the sync (tracked statuses), DUPLICATED_REF (sending).
PLANNED_FROM = sorted({*TRACKED_STATUSES, S.SENDING})


@pytest.mark.parametrize("status", PLANNED_FROM)
def test_planning_only_ever_asks_legal_moves(status):
    """Whatever the API answers, at whatever age, the planned change is one TRANSITIONS allows:
    so the door can refuse an illegal move loudly without ever stopping the sync."""
    now = timezone.now()
    for age, topup_id, attempts in itertools.product(
            (timedelta(0), timedelta(minutes=10), timedelta(hours=7), timedelta(hours=50)), ("", "T1"), (1, 3)):
        common = {"pk": 1, "ref": "OC-1", "value": Decimal(1000), "status": status, "topup_id": topup_id,
                  "send_attempts": attempts, "sent_at": now - age, "created_at": now - age}
        for order in (Order(line_type="ADSL", number="036362600", **common),
                      Order(service="mobile", plan_code="PREPAID_DJEZZY", number="0778037340", **common)):
            for topup in _topups():
                planning.change_from_topup(order, topup, now).check()
            planning.change_not_found(order, now).check()
