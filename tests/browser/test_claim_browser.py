"""The claim link end to end in Chromium: a queued card's printed receipt carries a QR code; the
code, read back from the PDF the printer gets, opens the customer's page on a phone; the page says
the order is queued, then, once the simulator has fulfilled it, shows the card for the right last
four digits and never for wrong ones; a revoked or expired link shows nothing."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.browser.pages import log_in, submit_card_order
from tests.factories import refresh
from topups.models import ClaimLink, Order, OrderStatus

pypdfium2 = pytest.importorskip("pypdfium2")
zxingcpp = pytest.importorskip("zxingcpp")

S = OrderStatus
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "fr-FR"}


def qr_in_pdf(pdf: bytes) -> list[str]:
    """The QR codes on the printed page: PDFium renders it at 300 dpi, zxing-cpp reads it."""
    document = pypdfium2.PdfDocument(pdf)
    image = document[0].render(scale=300 / 72).to_pil()
    return [barcode.text for barcode in zxingcpp.read_barcodes(image) if barcode.format == zxingcpp.BarcodeFormat.QRCode]


def print_receipt(page, live_server, order: Order) -> bytes:
    page.goto(f"{live_server.url}/orders/{order.pk}/receipt/?width=58&lang=fr")
    page.add_init_script("window.print = () => { window.printed = (window.printed || 0) + 1; };")
    with page.expect_navigation():
        page.click("#print-receipt")
    page.emulate_media(media="print")
    pdf = page.pdf(prefer_css_page_size=True, print_background=False)
    page.emulate_media(media="screen")
    return pdf


def fits_the_screen(phone) -> bool:
    return phone.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.fixture
def queued_card(page, live_server, operator, synced, settings):
    cache.clear()
    settings.CLAIM_PAGE_RATE = settings.CLAIM_TRY_RATE = "1000/m"
    synced.configure(fulfil_after=0, queue_for=3600)
    log_in(page, live_server)
    submit_card_order(page, live_server, "036362691")  # the simulator queues a line ending in 91
    order = refresh(Order.objects.get())
    assert order.status == S.QUEUED
    yield order
    cache.clear()


def test_the_printed_qr_code_brings_the_card_to_the_customers_phone(page, chromium, live_server, queued_card,
                                                                     synced, shot):
    urls = qr_in_pdf(print_receipt(page, live_server, queued_card))
    link = ClaimLink.objects.get(order=queued_card, revoked_at__isnull=True)
    assert urls == [f"{live_server.url}/c/{link.token}/"], "one QR code, the order's link"
    assert link.language == "fr"
    phone = chromium.new_context(**PHONE).new_page()
    phone.goto(urls[0])
    assert phone.get_attribute("#claim-status", "data-status") == "queued"
    assert phone.inner_text("#claim-status") == "En file d'attente", "in the receipt's language"
    assert not phone.is_visible("#digits") and fits_the_screen(phone)
    assert phone.context.cookies() == [], "no cookie for a page with nothing to post"
    shot(phone, "claim-queued-phone")

    synced.advance(3700)
    order = refresh(queued_card)  # the background sync sees the card delivered
    assert order.status == S.FULFILLED and order.card_code
    phone.reload()
    assert phone.is_visible("#digits") and order.card_code not in phone.inner_text("body")
    for wrong in ("0000", "2690", "1234"):
        phone.fill("#digits", wrong)
        with phone.expect_navigation():
            phone.click("#claim-digits button[type=submit]")
        assert phone.is_visible("#claim-wrong") and not phone.is_visible("#claim-code")
        assert order.card_code not in phone.inner_text("body").replace(" ", "")
    phone.fill("#digits", "2691")
    with phone.expect_navigation():
        phone.click("#claim-digits button[type=submit]")
    assert phone.inner_text("#claim-code").replace(" ", "").replace("\n", "") == order.card_code
    assert fits_the_screen(phone)
    assert {c["name"] for c in phone.context.cookies()} <= {"csrftoken"}
    shot(phone, "claim-delivered-phone")

    # The shop revokes the link (a photographed receipt): the old QR code shows nothing.
    page.goto(f"{live_server.url}/orders/{order.pk}/receipt/?width=58")
    with page.expect_navigation():
        page.click("#claim-revoke button")
    phone.goto(urls[0])
    assert phone.is_visible("#claim-gone") and order.card_code not in phone.inner_text("body")
    assert order.ref not in phone.inner_text("body")
    phone.context.close()


def test_an_expired_link_shows_nothing(page, chromium, live_server, queued_card, synced, settings):
    url = qr_in_pdf(print_receipt(page, live_server, queued_card))[0]
    synced.advance(3700)
    order = refresh(queued_card)
    phone = chromium.new_context(**PHONE).new_page()
    phone.goto(url)
    assert phone.is_visible("#digits")
    settings.CLAIM_LINK_DAYS = 0  # the link's days after the order became final are over
    phone.reload()
    assert phone.is_visible("#claim-gone") and not phone.is_visible("#digits")
    assert order.card_code not in phone.inner_text("body")
    phone.context.close()
