"""Every sentence staff read is in their language: a day of the shop (cards sold, refused, refunded,
a mobile top-up, an edited note, a bulk file with problems, a reconciled ledger, a closed cash
session, an audit trail of every kind of action) rendered on every page, export and status answer
in French and in Arabic, with no English sentence left beyond names, codes and numbers.

English is found three ways: a sentence of our own catalogue (an msgid) appearing as it is, a run
of English function words ("by the", "was not"...), and the raw codes stored for machines
(``reveal_code``, ``decrement``, ``fulfilled``). Text another party wrote is allowed where it is
marked as such: the API's message (``class="api-detail"``) or text in another language (``lang``).
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from topups.lines.mobile import plans as mobile
from topups.models import AuditAction, Batch, HandBack, Order, OrderEvent, OrderStatus, Till, TillClose
from topups.notes import TAKEN_BACK_NOTE, Note
from topups.services import (
    audit,
    batches,
    claims,
    lifecycle,
    order_edits,
    orders,
    preferences,
    reconcile,
    tills,
)
from topups.services.actors import SYNC, Actor
from topups.services.sending import DATABASE_LOST

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.ledger_fixtures"]
S = OrderStatus
ROOT = Path(__file__).resolve().parents[2]

# Words only English uses (none is a French or an Arabic word written in Latin letters).
ENGLISH_WORDS = {"the", "and", "was", "were", "by", "of", "is", "are", "not", "with", "from", "this", "that", "will",
                 "be", "to", "for", "has", "have", "been", "its", "via", "could", "should", "your", "yet", "when",
                 "order", "orders", "card", "sent", "refused", "accepted", "edited", "refunded", "delivered", "phone",
                 "number", "invalid", "found"}
# Codes stored for machines: a reader never sees them as words.
RAW_CODES = {"reveal_code", "search_code", "till_open", "till_close", "till_approve", "till_reopen", "edit_order",
             "price_rule", "receipt_reprint", "resolve_ledger_flag", "decrement", "increment", "fulfilled",
             "refunded", "handling", "queued", "task:send", "task:sync", "task:resend"}
# Names that read the same in every language.
NAMES = {"OneClickDZ", "English", "Français", "français", "العربيّة", "Django"}


def catalogue_sentences() -> set[str]:
    """Our English sentences (of three words or more), cut at their placeholders."""
    source = (ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po").read_text()
    sentences = set()
    for msgid in re.findall(r'^msgid "(.+)"$', source, flags=re.M):
        for part in re.split(r"%\(\w+\)[sd]|%[sd]|\{\{.*?\}\}", msgid.replace('\\"', '"')):
            part = part.strip(" :;,.()«»“”\"'")
            if len(part.split()) >= 3:
                sentences.add(part)
    return sentences


SENTENCES = catalogue_sentences()


class VisibleText(HTMLParser):
    """The text a reader sees, without scripts, styles, and text marked as another party's or
    another language's."""

    SKIP = {"script", "style", "template"}
    VOID = {"br", "img", "input", "meta", "link", "hr", "wbr", "source", "col", "area", "base"}

    def __init__(self, language: str):
        super().__init__()
        self.language, self.stack, self.texts = language, [], []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        foreign = (tag in self.SKIP or "api-detail" in (attrs.get("class") or "")
                   or (attrs.get("lang") and attrs.get("lang") != self.language and tag != "html"))
        self.stack.append((tag, foreign))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        if data.strip() and not any(foreign for _tag, foreign in self.stack):
            self.texts.append(" ".join(data.split()))


def english_in(texts: list[str]) -> list[str]:
    found = []
    for text in texts:
        if text in NAMES:
            continue
        words = re.findall(r"[A-Za-z_:]+", text)
        lowered = [w.lower() for w in words]
        if any(sentence in text for sentence in SENTENCES if len(sentence) <= len(text)):
            found.append(text)
        elif sum(1 for w in lowered if w in ENGLISH_WORDS) >= 2:
            found.append(text)
        elif any(w in RAW_CODES for w in words):  # lower-case codes: "FULFILLED" is the API's status code
            found.append(text)
    return found


def page_texts(response, language: str) -> list[str]:
    content_type = response.get("Content-Type", "")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if "csv" in content_type:
        return [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row if cell.strip()]
    if "json" in content_type:
        return [value for value in re.findall(r'"(?:explanation|label|reason)": "([^"]*)"', body.decode())]
    parser = VisibleText(language)
    parser.feed(body.decode())
    return parser.texts


@pytest.fixture
def shop_day(books, sell, staff, operator, supervisor, priced_shop):
    """A day with every kind of stored message."""
    assert mobile.sync_plans().ok
    till = tills.open_till(actor=staff, opening_cash="0")
    fulfilled = sell(staff, "036362600")
    refused, _ = orders.create_order(line_type="ADSL", number="036362699", value=Decimal(1000), actor=staff, send=True)
    refunded = sell(staff, "036362690")
    flexy, _ = orders.create_order(service="mobile", plan_code="PREPAID_DJEZZY", number="0771234567",
                                   value=Decimal(1000), actor=staff, send=True)
    order_edits.edit_order(order_id=fulfilled.pk, changes={"note": "pour Karim"}, actor=Actor.user(supervisor))
    batch = batches.preview_batch(file_name="vendredi.csv", actor=Actor.user(supervisor), data=(
        b"type,number,value,ref,note,plan_code\n"
        b"ADSL,036362601,1000,R 1,,\n"
        b"ADSL,036362602,7777,,,\n"
        b"FLEXY,0661234567,1000,,,PREPAID_DJEZZY\n"
        b"ADSL,036362603,=SOMME(A1),,,\n"))
    books.place_elsewhere(value=500)
    reconcile.run(backfill_days=1)
    for action in AuditAction.values:
        audit.record(actor=Actor.task("sync"), action=action, target="OC-1")
    # The money path's stored notes: a card taken back (booked as money handed back), an order
    # settled with the provider's support, one sent again after the database was lost, one whose
    # answer could not be read (needs attention, with the settle page), an approval and a reopen.
    taken_back = sell(staff, "036362610")
    lifecycle.move(taken_back, S.TAKEN_BACK, Actor.user(supervisor),
                   note=Note(TAKEN_BACK_NOTE, amount="980.00", note="ticket 4411"))
    settled, _ = orders.create_order(line_type="ADSL", number="036362611", value=Decimal(1000), actor=staff)
    lifecycle.move(settled, S.SENDING, staff)
    lifecycle.move(settled, S.ATTENTION, SYNC, note=Note(
        "The API's answer about this order could not be read for %(hours)d hours: contact OneClickDZ support.",
        hours=26))
    lifecycle.move(settled, S.REFUNDED, Actor.user(supervisor), note=Note(
        "Settled by a supervisor: refunded by OneClickDZ support. Note: %(note)s", note="ticket 4412"))
    retried, _ = orders.create_order(line_type="ADSL", number="036362612", value=Decimal(1000), actor=staff)
    lifecycle.move(retried, S.SENDING, staff)
    lifecycle.move(retried, S.NEW, staff, note=Note(DATABASE_LOST))
    lifecycle.move(retried, S.SENDING, staff)
    lifecycle.move(retried, S.ATTENTION, SYNC, note=Note(
        "The API's answer about this order could not be read for %(hours)d hours: contact OneClickDZ support.",
        hours=49))
    claims.set_contact(retried, phone="0661234567", email="", actor=staff)  # a note, and a row on the waiting list
    tills.close_till(till_id=till.pk, counted_cash="900", actor=staff, note="billet de 100 DA rendu deux fois")
    tills.approve_till(till_id=till.pk, actor=Actor.user(supervisor), note="vu avec la caissière")
    tills.reopen_till(till_id=till.pk, actor=Actor.user(supervisor))
    tills.close_till(till_id=till.pk, counted_cash="900", actor=staff, note="recompté : 100 DA manquent")
    return {"orders": [fulfilled.pk, refused.pk, refunded.pk, flexy.pk, taken_back.pk, settled.pk, retried.pk],
            "batch": batch.pk, "till": till.pk, "attention": retried.pk}


def pages(day) -> list[str]:
    order_pages = [f"/orders/{pk}/" for pk in day["orders"]]
    return [
        "/", "/orders/new/", "/orders/new/?service=mobile", "/orders/", *order_pages,
        *[f"/orders/{pk}/status.json" for pk in day["orders"]],
        f"/orders/{day['orders'][0]}/receipt/?width=80",
        "/orders/export.csv",
        "/batches/", "/batches/new/", f"/batches/{day['batch']}/", f"/batches/{day['batch']}/results.csv",
        "/waiting/", "/ledger/", "/ledger/export.csv", "/till/", "/tills/", f"/tills/{day['till']}/",
        f"/tills/{day['till']}/?paper=80", "/prices/", "/reports/", "/reports/?group=product",
        "/admin/", "/admin/topups/order/", f"/admin/topups/order/{day['orders'][0]}/change/",
        "/admin/topups/auditevent/", "/admin/topups/ledgerrow/", "/admin/topups/cardinstructions/",
        "/admin/topups/till/", "/admin/topups/ledgerflag/", "/admin/topups/batch/", "/admin/topups/mobileplan/",
        "/admin/topups/product/", "/admin/topups/pricerule/", "/admin/topups/auditevent/?action=till_open",
        f"/admin/topups/order/{day['attention']}/settle/", f"/admin/topups/order/{day['orders'][4]}/change/",
        f"/orders/{day['orders'][4]}/receipt/?width=58",
        f"/orders/{day['orders'][5]}/receipt/?width=58",
    ]


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_no_english_sentence_left(client, supervisor, shop_day, language):
    preferences.save_language(user=supervisor, language=language)
    client.force_login(supervisor)
    session = client.session
    session[preferences.SESSION_LANGUAGE] = language
    session.save()
    left = {}
    for path in pages(shop_day):
        response = client.get(path)
        assert response.status_code == 200, path
        if response["Content-Type"].startswith("text/html"):
            assert f'<html lang="{language}"' in response.content.decode(), path  # read in the language tested
        found = english_in(page_texts(response, language))
        if found:
            left[path] = found[:6]
    # The orders list's search is a POST form (a term never travels in an address): its answers too.
    for search in ({"q": "0363626", "status": S.TAKEN_BACK}, {"q": "zz", "date_from": "1900-01-01"}):
        response = client.post("/orders/", search)
        found = english_in(page_texts(response, language))
        if found:
            left[f"POST /orders/ {search}"] = found[:6]
    assert left == {}, "\n".join(f"{path}: {found}" for path, found in left.items())


def test_the_day_holds_every_kind_of_message(shop_day):
    """The fixture is what the test above claims to read: refused, refunded, mobile, an edit, bulk
    problems of each kind, a ledger row and a close."""
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {S.FULFILLED, S.REFUSED, S.REFUNDED, S.TAKEN_BACK, S.ATTENTION} <= statuses
    codes = set(OrderEvent.objects.values_list("note_code", flat=True))
    assert {TAKEN_BACK_NOTE, DATABASE_LOST} <= codes and any(c.startswith("Settled by") for c in codes)
    assert HandBack.objects.filter(status=S.TAKEN_BACK).exists() and TillClose.objects.exists()
    problems = {code for row in Batch.objects.get().rows for code, _params in row["errors"]}
    assert {"bad_ref", "unknown_value", "mobile_refused", "formula"} <= problems
    assert Till.objects.get().status == "closed"


def test_the_detector_finds_english():
    """What the test above would miss if the detector missed it."""
    assert english_in(["Accepted by the API"]) and english_in(["sam via task:send"]) and english_in(["decrement"])
    assert english_in(["Refusée, rien n'a été débité : Invalid phone number for ADSL service"])
    assert not english_in(["Acceptée par l'API", "OC-261206-0001", "036362600", "1 000,00 DA", "olga"])
    parser = VisibleText("fr")
    parser.feed('<p>Refusée <span class="api-detail">Invalid phone number for the ADSL service</span></p>')
    assert parser.texts == ["Refusée"]
