"""A second top-up of the same line and value within SAME_LINE_WARNING_HOURS asks the clerk to
confirm; a confirmed one is sent, a resubmitted form is never taken for a second top-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.counter.test_dashboard import form_ref, post_order
from topups.lines.internet import catalog
from topups.models import Order, OrderStatus

pytestmark = pytest.mark.django_db
S = OrderStatus


@pytest.fixture
def op_client(client, operator, sim):
    assert catalog.sync_catalog().ok
    client.force_login(operator)
    return client


def test_a_second_top_up_of_the_same_line_and_value_asks_first(op_client):
    first = post_order(op_client)
    assert first.status_code == 302 and Order.objects.count() == 1
    ref = Order.objects.get().ref
    # Back, retyped the same line in another form (a new ref, spaces this time): a warning, no order.
    second_ref = form_ref(op_client)
    warned = post_order(op_client, ref=second_ref, number="036 36 26 00")
    html = warned.content.decode()
    assert warned.status_code == 200 and Order.objects.count() == 1
    assert 'id="same-line"' in html and ref in html and f'name="repeat_of" value="{ref}"' in html
    # Send again without confirming: still a warning.
    assert post_order(op_client, ref=second_ref).status_code == 200 and Order.objects.count() == 1
    # Confirmed: sent once, and the same form posted again gives that order back.
    data = {"line_type": "ADSL", "number": "036362600", "value": "ADSL:1000", "ref": second_ref, "repeat_of": ref}
    confirmed = op_client.post(reverse("topups:new_order"), data)
    assert confirmed.status_code == 302 and Order.objects.count() == 2
    assert op_client.post(reverse("topups:new_order"), data).status_code == 302 and Order.objects.count() == 2


def test_the_confirmation_is_for_the_newest_order_only(op_client):
    post_order(op_client)
    older = Order.objects.get().ref
    data = {"line_type": "ADSL", "number": "036362600", "value": "ADSL:1000", "repeat_of": older}
    post = op_client.post(reverse("topups:new_order"), {**data, "ref": form_ref(op_client)})
    assert post.status_code == 302 and Order.objects.count() == 2
    # A third one confirmed against the first (not the newest) order: asked again.
    warned = op_client.post(reverse("topups:new_order"), {**data, "ref": form_ref(op_client)})
    assert warned.status_code == 200 and Order.objects.count() == 2


def test_no_warning_for_another_value_a_refusal_or_outside_the_window(op_client, settings):
    post_order(op_client)
    assert post_order(op_client, value="ADSL:2000").status_code == 302  # another value
    Order.objects.filter(value=2000).update(status=S.REFUSED)
    assert post_order(op_client, value="ADSL:2000").status_code == 302  # the earlier one charged nothing
    settings.SAME_LINE_WARNING_HOURS = 0.5
    Order.objects.filter(value=1000).update(created_at=timezone.now() - timedelta(minutes=31))
    assert post_order(op_client).status_code == 302  # outside the configured window
    assert Order.objects.count() == 4
