"""The waiting list: orders paid and not delivered (queued, uncertain, processing for long), how
long each waited, whether the customer was told; a counter on the home page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.claims.conftest import S, fulfil, to_status
from tests.factories import MobileOrderFactory, place
from topups.models import Notice, NoticeStatus, Order
from topups.selectors import waiting
from topups.services import claims

pytestmark = pytest.mark.django_db


def refs(rows) -> set[str]:
    return {row.order.ref for row in rows}


def test_who_waits(sim, operator, staff, queued, settings):
    just_sent = to_status(place(operator, "036362602"), S.SENDING, S.HANDLING)
    long_sent = to_status(place(operator, "036362603"), S.SENDING, S.HANDLING)
    Order.objects.filter(pk=long_sent.pk).update(
        created_at=timezone.now() - timedelta(minutes=settings.WAITING_AFTER_MINUTES + 1))
    uncertain = to_status(place(operator, service="mobile"), S.SENDING, S.UNCERTAIN)
    done_at_once = fulfil(to_status(place(operator, "036362604"), S.SENDING, S.HANDLING))
    menu = MobileOrderFactory(plan_code="GETMENU_DJEZZY", status=S.UNCERTAIN, value=0)
    rows = waiting.waiting_orders()
    assert refs(rows) == {queued.ref, long_sent.ref, uncertain.ref}
    assert just_sent.ref not in refs(rows) and done_at_once.ref not in refs(rows) and menu.ref not in refs(rows)
    assert waiting.waiting_count() == 3
    row = {r.order.ref: r for r in rows}[long_sent.ref]
    assert row.waited >= timedelta(minutes=settings.WAITING_AFTER_MINUTES)
    assert {r.order.ref: r.contact for r in rows}[uncertain.ref] is False
    claims.live_link(uncertain)  # its receipt: the flexy number is its contact
    assert {r.order.ref: r.contact for r in waiting.waiting_orders()}[uncertain.ref] is True


def test_a_settled_order_stays_until_its_customer_is_told(settings, queued, staff):
    settings.NOTICE_CHANNELS = []  # no channel: nobody is told, the list keeps it
    claims.set_contact(queued, phone="0661234567", email="", actor=staff)
    fulfil(queued)
    rows = waiting.waiting_orders()
    assert refs(rows) == {queued.ref} and rows[0].settled and not rows[0].told
    Notice.objects.create(order=queued, channel="sms", recipient="0661234567", status=NoticeStatus.SENT)
    assert waiting.waiting_orders() == []


def test_the_page_and_the_home_counter(client, operator, queued, sim):
    client.force_login(operator)
    body = client.get(reverse("topups:waiting")).content.decode()
    assert queued.ref in body and reverse("topups:order_receipt", kwargs={"pk": queued.pk}) in body
    assert 'action="/waiting/' not in body, "nothing to resend before the order settles"
    home = client.get(reverse("topups:home")).content.decode()
    assert 'id="waiting-count">1<' in home
