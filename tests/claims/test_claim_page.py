"""The claim link: on which receipts it is printed, and what its public page shows to whom: the
order's state to anyone holding the link, the card only after the number's last four digits,
nothing once the link is revoked or expired; throttled; no session and no cookie but CSRF's."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from tests.claims.conftest import CODE, S, fulfil, to_status
from tests.factories import place
from topups.models import AuditEvent, ClaimLink, Order, OrderEvent
from topups.services import claims

pytestmark = pytest.mark.django_db


def receipt(client, order, **query):
    return client.get(reverse("topups:order_receipt", kwargs={"pk": order.pk}), query)


def link_of(order) -> ClaimLink:
    return ClaimLink.objects.get(order=order, revoked_at__isnull=True)


def shown_code(response) -> str:
    """The card code the page shows, its groups joined."""
    block = response.content.decode().partition('id="claim-code">')[2].partition("</p>")[0]
    return re.sub(r"<[^>]+>|\s", "", block)


def page(token, client=None, **data):
    client = client or Client()
    url = reverse("claim", kwargs={"token": token})
    return client.post(url, data) if data else client.get(url)


def test_a_queued_receipt_carries_the_link_and_its_qr_code(client, operator, queued):
    client.force_login(operator)
    body = receipt(client, queued, lang="fr").content.decode()
    link = link_of(queued)
    assert f"/c/{link.token}/" in body and 'class="claim-qr"' in body and "<svg" in body
    assert link.language == "fr", "the receipt's language is the customer's"
    assert 'width="30.0mm"' in body, "the QR code is sized for the paper"
    # The same link on every look at the receipt: the paper and the preview agree.
    receipt(client, queued)
    assert ClaimLink.objects.filter(order=queued).count() == 1


def test_a_card_receipt_carries_a_link_and_a_refund_or_a_refusal_none(client, operator, queued, sim):
    client.force_login(operator)
    fulfilled = fulfil(queued)
    assert "claim-qr" in receipt(client, fulfilled).content.decode()
    refunded = to_status(place(operator, "036362600"), S.SENDING, S.HANDLING, S.REFUNDED)
    refused = to_status(place(operator, "036362601"), S.REFUSED)
    for order in (refunded, refused):
        assert "claim-qr" not in receipt(client, order).content.decode()
        assert not ClaimLink.objects.filter(order=order).exists()


def test_the_page_tells_the_state_and_keeps_the_card_behind_the_digits(client, operator, queued):
    client.force_login(operator)
    receipt(client, queued)
    token = link_of(queued).token
    body = page(token).content.decode()
    assert 'data-status="queued"' in body and "Queued" in body and 'name="digits"' not in body
    fulfil(queued)
    opened = page(token)
    assert opened.status_code == 200 and 'name="digits"' in opened.content.decode()
    assert CODE not in opened.content.decode()
    for wrong in ("2692", "0000", "", "36362691", "269", "٢٦٩١x"):
        answer = page(token, digits=wrong)
        assert CODE not in answer.content.decode() and answer.status_code in (403,), wrong
    assert not AuditEvent.objects.filter(action="reveal_code").exists()
    right = page(token, digits="2691")
    assert right.status_code == 200 and shown_code(right) == CODE
    event = AuditEvent.objects.get(action="reveal_code")
    assert (event.target, event.actor_id, event.actor_label, event.ip_address, event.detail) == (
        queued.ref, None, "customer (claim link)", "127.0.0.1", {"via": "claim link"})
    # Arabic-Indic digits are digits too.
    assert shown_code(page(token, digits="٢٦٩١")) == CODE


def test_the_page_speaks_the_customers_language_and_switches(client, operator, queued):
    client.force_login(operator)
    receipt(client, queued, lang="ar")
    token = link_of(queued).token
    assert 'lang="ar" dir="rtl"' in page(token).content.decode()
    assert 'lang="fr" dir="ltr"' in Client().get(reverse("claim", kwargs={"token": token}), {"lang": "fr"}
                                                 ).content.decode()


def test_the_page_sets_no_cookie_but_csrf_and_has_no_staff_menu(client, operator, queued):
    client.force_login(operator)
    receipt(client, queued)
    fulfil(queued)
    token = link_of(queued).token
    anonymous = Client(enforce_csrf_checks=True)
    response = page(token, anonymous)
    assert set(response.cookies) <= {"csrftoken"}
    assert "no-store" in response["Cache-Control"] and response["Referrer-Policy"] == "same-origin"
    body = response.content.decode()
    assert "topbar" not in body and "/orders/" not in body and "logout" not in body.lower()
    # Its one form is CSRF-protected: a post without the token is refused.
    assert anonymous.post(reverse("claim", kwargs={"token": token}), {"digits": "2691"}).status_code == 403
    csrf = anonymous.cookies["csrftoken"].value
    posted = anonymous.post(reverse("claim", kwargs={"token": token}), {"digits": "2691", "csrfmiddlewaretoken": csrf})
    assert posted.status_code == 200 and set(posted.cookies) <= {"csrftoken"}
    assert "sessionid" not in anonymous.cookies


def test_a_revoked_link_shows_nothing_and_the_next_receipt_has_a_new_one(client, operator, queued):
    client.force_login(operator)
    receipt(client, queued)
    fulfil(queued)
    old = link_of(queued).token
    response = client.post(reverse("topups:claim_revoke", kwargs={"pk": queued.pk}), {"width": "58"})
    assert response.status_code == 302 and response["Location"].endswith("?width=58")
    for answer in (page(old), page(old, digits="2691")):
        assert answer.status_code == 404
        assert queued.ref not in answer.content.decode() and CODE[:4] not in answer.content.decode()
    new = link_of(queued).token
    assert new != old and f"/c/{new}/" in receipt(client, queued).content.decode()
    assert "Claim link revoked" in " ".join(OrderEvent.objects.filter(order=queued).values_list("note", flat=True))


def test_a_link_expires_days_after_the_order_is_final(client, operator, queued, settings):
    client.force_login(operator)
    receipt(client, queued)
    token = link_of(queued).token
    fulfilled = fulfil(queued)
    assert page(token).status_code == 200
    OrderEvent.objects.filter(order=fulfilled, to_status=S.FULFILLED).update(
        created_at=fulfilled.updated_at - timedelta(days=settings.CLAIM_LINK_DAYS, minutes=1))
    assert page(token).status_code == 404 and page(token, digits="2691").status_code == 404
    assert "claim-qr" not in receipt(client, fulfilled).content.decode(), "no dead QR code on a reprint"
    settings.CLAIM_LINK_DAYS = 30
    assert page(token).status_code == 200


def test_an_unknown_token_shows_nothing(db):
    for token in ("x", "a" * 22, "a" * 40, "%00"):
        assert page(token).status_code == 404


def test_tries_are_throttled_per_link_and_per_address(client, operator, queued, settings):
    settings.CLAIM_TRY_RATE = "3/m"
    client.force_login(operator)
    receipt(client, queued)
    fulfil(queued)
    token = link_of(queued).token
    assert [page(token, digits="0000").status_code for _ in range(3)] == [403, 403, 403]
    stopped = page(token, digits="2691")
    assert stopped.status_code == 429 and CODE[:4] not in stopped.content.decode()
    # Another address is stopped on this link too (per link); this address on another link (per address).
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert page(token, other, digits="2691").status_code == 429


def test_pages_are_throttled_per_address(db, settings):
    settings.CLAIM_PAGE_RATE = "5/m"
    assert [page("nothing").status_code for _ in range(6)][-1] == 429


def test_the_counter_asks_a_contact_only_while_the_order_is_not_final(client, operator, queued):
    client.force_login(operator)
    assert 'id="claim-contact"' in receipt(client, queued).content.decode()
    typo = client.post(reverse("topups:claim_contact", kwargs={"pk": queued.pk}), {"phone": "066123"}, follow=True)
    assert "A mobile number is 10 digits" in typo.content.decode() and link_of(queued).phone == ""
    client.post(reverse("topups:claim_contact", kwargs={"pk": queued.pk}), {"phone": "", "email": "not an address"})
    assert link_of(queued).email == ""
    client.post(reverse("topups:claim_contact", kwargs={"pk": queued.pk}), {"phone": "0661 23 45 67"})
    assert link_of(queued).phone == "0661234567"
    fulfilled = fulfil(queued)
    assert 'id="claim-contact"' not in receipt(client, fulfilled).content.decode()
    client.post(reverse("topups:claim_contact", kwargs={"pk": queued.pk}), {"phone": "0770000000"})
    assert link_of(queued).phone == "0661234567", "a final order has nothing left to tell"


def test_a_flexy_number_is_its_own_contact_unless_final_at_once(sim, operator):
    waiting = to_status(place(operator, service="mobile"), S.SENDING, S.UNCERTAIN)
    assert claims.live_link(waiting, language="ar").phone == waiting.number
    done = to_status(place(operator, "0771234567", service="mobile"), S.SENDING, S.FULFILLED)
    assert claims.live_link(done, language="ar") is None, "a flexy top-up delivered carries no card to recover"


def test_a_delivered_flexy_top_up_reads_as_credit_sent(sim, operator):
    order = to_status(place(operator, service="mobile"), S.SENDING, S.UNCERTAIN)
    token = claims.live_link(order, language="en").token
    to_status(order, S.FULFILLED)
    body = page(token, digits=order.number[-4:]).content.decode()
    assert "was topped up with" in body and order.number in body
    assert Order.objects.get(pk=order.pk).card_code == ""


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_customers_page_has_no_english_left(client, operator, queued, language):
    from tests.i18n.test_every_word_translated import english_in, page_texts

    client.force_login(operator)
    receipt(client, queued, lang=language)
    token = link_of(queued).token
    waiting_page = page(token)
    fulfil(queued)
    texts = [*page_texts(waiting_page, language), *page_texts(page(token), language),
             *page_texts(page(token, digits="0000"), language), *page_texts(page(token, digits="2691"), language)]
    assert english_in(texts) == []
