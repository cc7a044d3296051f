"""Every receipt the counter prints, in every language, on both paper rolls, printed to PDF by
Chromium and measured: no text box wider than the printable width (48 / 72 mm), no value
(number, id, date, plan code, amount) broken over two lines, one page. Kinds: a card delivered
(with the card's instructions), queued, processing, needing attention, refunded and refused, a card the provider took
back, a card settled with the provider's support; a flexy top-up sent, uncertain and refunded; a
reprint (DUPLICATE); and a closed cash session with both services and the cashier's explanation."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import MobileOrderFactory, OrderFactory
from topups.models import CardInstructions, Order, OrderStatus
from topups.services import tills
from topups.services.actors import Actor

from .test_dashboard_browser import log_in
from .test_receipt_browser import PAPER, printed_text_extent, set_language

pypdf = pytest.importorskip("pypdf")

S = OrderStatus
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
CODE = "123456789012"
# The API's Arabic notes to the shop ("do not refund the customer"): never on a customer's paper.
API_NOTE = "لا تعيدوا المبلغ للزبون"
CLOSE_NOTE = "Deux clients remboursés en espèces avant la réponse de l'API"
INSTRUCTIONS = {
    "en": "Dial *600* then the 12-digit code, or top up from the Algérie Télécom customer area.",
    "fr": "Composez *600* puis le code à 12 chiffres, ou rechargez depuis l'espace client d'Algérie Télécom.",
    "ar": "اطلب *600* ثم الرمز المكون من 12 رقمًا، أو اشحن من فضاء الزبون لاتصالات الجزائر.",
}

# Every text box and every value measured in the print layout; returns the faults found.
MEASURE = """() => {
  const paper = document.querySelector('.paper');
  if (!paper) return [['no receipt']];
  const box = paper.getBoundingClientRect(), faults = [];
  const outside = r => r.width > 0 && (r.left < box.left - 0.5 || r.right > box.right + 0.5);
  const walker = document.createTreeWalker(paper, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const range = document.createRange(); range.selectNodeContents(node);
    for (const r of range.getClientRects()) if (outside(r))
      faults.push(['wider than the paper', node.textContent.trim(), Math.round(r.left), Math.round(r.right)]);
  }
  for (const value of paper.querySelectorAll('.v, dd')) {
    const range = document.createRange(); range.selectNodeContents(value);
    const rects = [...range.getClientRects()].filter(r => r.width > 0);
    if (!rects.length) continue;
    const tops = rects.map(r => r.top), height = Math.min(...rects.map(r => r.height));
    if (Math.max(...tops) - Math.min(...tops) > height * 0.6) faults.push(['value wraps', value.textContent.trim()]);
  }
  if (paper.scrollWidth > paper.clientWidth) faults.push(['scrolls', paper.scrollWidth, paper.clientWidth]);
  return faults;
}"""


def order_of(user, till, status, service="internet", **extra) -> Order:
    now = timezone.now()
    fields = {"line_type": "ADSL", "number": "036362608", "value": Decimal(1000), "cost": Decimal(980)}
    if service == "mobile":
        fields = {"service": "mobile", "plan_code": "PREPAID_MOBILIS", "number": "0661234567",
                  "value": Decimal(3999), "cost": Decimal("3839.04")}
    if status in (S.FULFILLED, S.TAKEN_BACK) and service == "internet":
        extra.setdefault("card_code", CODE)
    factory = MobileOrderFactory if service == "mobile" else OrderFactory
    return factory(**fields, price=fields["value"], status=status, created_by=user, till=till, processed_at=now,
                   **extra)


@pytest.fixture
def counter_day(operator, settings):
    """One cashier's day: every kind of order on one cash session, then the session closed."""
    settings.SHOP_NAME = "Boutique Amina Télécom Bab Ezzouar"
    settings.SHOP_ADDRESS = "Cité 1200 logements, bloc 14, Bab Ezzouar, Alger"
    settings.SHOP_PHONE = "+213 21 00 00 00"
    for language, text in INSTRUCTIONS.items():
        CardInstructions.objects.create(line_type="ADSL", language=language, text=text)
    till = tills.open_till(actor=Actor.user(operator), opening_cash="17080")
    tx = {"num_trans": "TX-2026-12-06-000123456"}
    topup = {"topup_id": "6752f1a9c3e4b5d6e7f80912"}
    kinds = {
        "card": order_of(operator, till, S.FULFILLED, **tx),
        "queued": order_of(operator, till, S.QUEUED),
        "processing": order_of(operator, till, S.HANDLING),
        "attention": order_of(operator, till, S.ATTENTION),
        "refunded": order_of(operator, till, S.REFUNDED, refund_message="تمت إعادة المبلغ إلى رصيدك"),
        "refused": order_of(operator, till, S.REFUSED, refusal_code="ERR_PHONE",
                            refusal_message="Invalid phone number for ADSL service"),
        # Taken back by the provider: its code is void and never printed.
        "taken-back": order_of(operator, till, S.TAKEN_BACK, **tx),
        # Settled with OneClickDZ support: the code support gave, no transaction id.
        "settled": order_of(operator, till, S.FULFILLED, card_code="9876 5432 1098"),
        "flexy": order_of(operator, till, S.FULFILLED, "mobile", **topup),
        "flexy-uncertain": order_of(operator, till, S.UNCERTAIN, "mobile", refund_message=API_NOTE, **topup),
        "flexy-refunded": order_of(operator, till, S.REFUNDED, "mobile", refund_message=API_NOTE),
    }
    Order.objects.filter(pk=kinds["card"].pk).update(receipt_prints=1)  # its next print is a DUPLICATE
    closed = tills.close_till(till_id=till.pk, counted_cash="4530", actor=Actor.user(operator), note=CLOSE_NOTE)
    return kinds, closed


@pytest.mark.parametrize("paper", ["58", "80"])
@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_every_receipt_prints_whole_on_one_page(page, live_server, counter_day, language, paper, shot):
    kinds, till = counter_day
    log_in(page, live_server)
    set_language(page, language)
    urls = {kind: f"/orders/{order.pk}/receipt/?width={paper}" for kind, order in kinds.items()}
    urls["close"] = f"/tills/{till.pk}/?paper={paper}"
    margin = (int(paper) - PAPER[paper]) / 2
    faults = {}
    # A look at a receipt (GET) prints no paper: each one is measured as its Print button's POST
    # prints it (the counted page calls the print dialog itself: record the call instead).
    page.add_init_script("window.print = () => { window.printed = (window.printed || 0) + 1; };")
    for kind, url in urls.items():
        page.goto(live_server.url + url)
        if kind != "close":
            with page.expect_navigation():
                page.click("#print-receipt")
            page.wait_for_function("window.printed === 1")
        page.emulate_media(media="print")
        found = page.evaluate(MEASURE)
        pdf = page.pdf(prefer_css_page_size=True, print_background=False)
        pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
        _width, first_x, last_x, texts = printed_text_extent(pdf)
        if pages != 1:
            found.append(["pages", pages])
        if first_x < margin - 0.5 or last_x > int(paper) - margin:
            found.append(["glyphs outside the printable width", first_x, last_x])
        if API_NOTE in "".join(texts) or API_NOTE in page.inner_text(".paper"):
            found.append(["the API's note to the shop is printed"])
        if kind == "taken-back" and CODE[:4] in page.inner_text(".paper"):
            found.append(["a card taken back prints its code"])
        if kind == "close" and CLOSE_NOTE not in page.inner_text(".paper"):
            found.append(["the close receipt leaves out the cashier's explanation"])
        page.emulate_media(media="screen")
        shot(page, f"receipt-{kind}-{paper}mm-{language}")
        if found:
            faults[kind] = found
    assert not faults, faults
