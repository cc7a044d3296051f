"""A customer back with one gift card ("this code does not work"): the orders search finds its order
by that card's code or serial alone, as it finds an internet card's order by its code; for those
who may see the code, audited; never by a part of it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.giftcards.test_pipeline import place, refresh, send
from topups.lines.giftcards.cards import GiftCard, as_text
from topups.models import AuditEvent, CardCodeDigest, Order, OrderStatus

S = OrderStatus
pytestmark = pytest.mark.django_db
CARDS = [GiftCard("4417-2290-6618-3305", "770012345"), GiftCard("9902-4471-0056-1184", "770012346")]


def found(user, term) -> str:
    client = Client()
    client.force_login(user)
    return client.post(reverse("topups:orders"), {"q": term}, follow=True).content.decode()


def test_one_card_s_code_or_serial_finds_its_order(gift, staff, operator, supervisor, make_user):
    mine = place(staff, quantity=2)
    send(mine, staff)
    gift.advance(5)
    mine = refresh(mine)  # the cards written by the status door, as the sync delivers them
    assert mine.status == S.FULFILLED and mine.card_code.count("\n") == 3
    Order.objects.filter(pk=mine.pk).update(card_code=as_text(CARDS))  # codes of a live key's kind
    other = place(make_user("nadia", "Operators"), quantity=1)
    Order.objects.filter(pk=other.pk).update(card_code=as_text([GiftCard("5550-1111-2222-3333", "880099")]))

    for term in ("4417 2290 6618 3305", "9902-4471-0056-1184", "770012346"):
        assert mine.ref in found(supervisor, term), term
    assert AuditEvent.objects.filter(action="search_code", target=mine.ref).count() == 3
    assert mine.ref in found(operator, "4417229066183305")  # their own order
    assert other.ref not in found(operator, "5550111122223333")  # a colleague's: not for a cashier
    assert other.ref in found(supervisor, "5550111122223333")
    assert mine.ref not in found(supervisor, "44172290")  # a part of a code finds nothing
    # A code rewritten leaves no trace of the old one.
    Order.objects.filter(pk=mine.pk).update(card_code=as_text(CARDS[1:]))
    assert mine.ref not in found(supervisor, "4417229066183305")
    assert CardCodeDigest.objects.filter(order=mine).count() == 2


def test_a_card_saved_through_the_row_is_found_too(gift, staff, supervisor):
    order = place(staff, quantity=2)
    order.card_code = as_text(CARDS)
    order.save()
    assert order.ref in found(supervisor, "770012345")
    order.card_code = ""
    order.save(update_fields=["card_code"])
    assert not CardCodeDigest.objects.filter(order=order).exists()

