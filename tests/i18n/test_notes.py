"""History notes are stored as a message and its parameters and shown in the reader's language,
whatever language was active when they were written (a background task, a French clerk)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from topups.models import OrderEvent
from topups.notes import Note, render
from topups.services import orders
from topups.services.actors import Actor

pytestmark = pytest.mark.django_db


def test_a_note_is_shown_in_the_readers_language(client, operator):
    with translation.override("fr"):  # written during a French request
        order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000),
                                       actor=Actor.user(operator))
    event = OrderEvent.objects.get(order=order)
    assert event.note == "Order created" and event.note_code == "Order created"
    client.force_login(operator)
    for language in ("ar", "fr", "en"):
        with translation.override(language):
            expected_text = render("Order created", "Order created", None)
        client.post(reverse("set_language"), {"language": language, "next": "/"})
        html = client.get(reverse("topups:order", args=[order.pk])).content.decode()
        assert expected_text in html
        assert language == "en" or "Order created" not in html


def test_parameters_and_a_message_that_changed():
    note = Note("Not found at the API after %(n)d attempts.", n=3)
    assert note == "Not found at the API after 3 attempts." and note.params == {"n": 3}
    with translation.override("fr"):
        assert render(str(note), note.msgid, note.params) != str(note)
        assert "3" in render(str(note), note.msgid, note.params)
        assert render("kept", "%(gone)s", {"other": 1}) == "kept"  # parameters no longer fit: the text
