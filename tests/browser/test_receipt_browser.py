"""Receipts printed to PDF by Chromium: the page is the paper (58 / 80 mm) and everything printed
stays inside the width the print head reaches (48 / 72 mm), left to right and right to left; a
refunded order's receipt carries no staff instruction; a masked code offers no receipt."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.utils import translation

from topups.models import Order, OrderStatus
from topups.services import orders
from topups.services.actors import Actor

from .test_dashboard_browser import log_in

pypdf = pytest.importorskip("pypdf")

S = OrderStatus
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
MM_PER_PT = 25.4 / 72
CODE = "123456789012"
# Paper width -> printable width (mm), as thermal printers print.
PAPER = {"58": 48, "80": 72}


def make_order(user, status=S.FULFILLED, number="036362600") -> Order:
    order, _ = orders.create_order(line_type="ADSL", number=number, value=Decimal(1000), actor=Actor.user(user))
    Order.objects.filter(pk=order.pk).update(status=status, card_code=CODE if status == S.FULFILLED else "",
                                             num_trans="TX-2026-000123")
    return Order.objects.get(pk=order.pk)


def printed_text_extent(pdf_bytes: bytes) -> tuple[float, float, float, list[str]]:
    """(page width mm, leftmost and rightmost x of any printed glyph run in mm, the texts)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes))
    page = reader.pages[0]
    width_mm = float(page.mediabox.width) * MM_PER_PT
    xs, texts = [], []

    def visit(text, cm, tm, font_dict, font_size):
        if not text.strip():
            return
        # Start of the run in device space; its end from the font's advance is not exposed, so the
        # right edge is measured on the page itself (below) and the left edges here.
        xs.append((tm[4] * cm[0] + tm[5] * cm[2] + cm[4]) * MM_PER_PT)
        texts.append(text)

    page.extract_text(visitor_text=visit)
    return width_mm, min(xs), max(xs), texts


def set_language(page, language):
    page.select_option("#lang-select", language)
    page.wait_for_selector(f"html[lang={language}]")


@pytest.mark.parametrize("language", ["fr", "ar"])
@pytest.mark.parametrize("paper", ["58", "80"])
def test_receipt_prints_within_the_paper(page, live_server, operator, language, paper, shot):
    order = make_order(operator)
    log_in(page, live_server)
    set_language(page, language)
    page.goto(f"{live_server.url}/orders/{order.pk}/receipt/?width={paper}")
    page.emulate_media(media="print")
    # A look at the receipt prints no paper: only the Print button's POST counts and prints.
    assert not page.is_visible(".paper") and page.is_visible("#not-counted")
    page.emulate_media(media="screen")
    # The counted page calls the print dialog itself: record the call (the PDF below is the print).
    page.add_init_script("window.print = () => { window.printed = (window.printed || 0) + 1; };")
    with page.expect_navigation():
        page.click("#print-receipt")
    page.wait_for_function("window.printed === 1")
    assert Order.objects.get(pk=order.pk).receipt_prints == 1
    page.emulate_media(media="print")
    # The content box in the print layout: as wide as the printable width, and nothing overflows it.
    metrics = page.evaluate("""() => {
        const paper = document.querySelector('.paper').getBoundingClientRect();
        const inside = [...document.querySelectorAll('.paper *')].map(e => e.getBoundingClientRect())
            .filter(r => r.width > 0);
        return {paper: [paper.left, paper.right],
                left: Math.min(...inside.map(r => r.left)), right: Math.max(...inside.map(r => r.right)),
                scroll: document.querySelector('.paper').scrollWidth, client: document.querySelector('.paper').clientWidth};
    }""")
    shot(page, f"receipt-{paper}mm-{language}-print")
    pdf = page.pdf(prefer_css_page_size=True, print_background=False)
    width_mm, first_x, last_x, texts = printed_text_extent(pdf)
    margin = (int(paper) - PAPER[paper]) / 2
    assert width_mm == pytest.approx(int(paper), abs=0.5), "the PDF page is the paper roll's width"
    assert first_x >= margin - 0.5, (first_x, texts)
    assert last_x <= int(paper) - margin, (last_x, texts)
    assert metrics["scroll"] <= metrics["client"], "nothing in the receipt is wider than the printable width"
    assert metrics["left"] >= metrics["paper"][0] - 0.5 and metrics["right"] <= metrics["paper"][1] + 0.5
    # Each glyph run starts inside the margins; the content box itself is the printable width.
    page.emulate_media(media="screen")
    printable_px = page.evaluate("document.querySelector('.paper').getBoundingClientRect().width")
    assert printable_px * 25.4 / 96 == pytest.approx(PAPER[paper], abs=0.5)
    joined = "".join(texts)
    assert CODE in joined.replace(" ", "")
    assert ("ar" == language) == (page.get_attribute("html", "dir") == "rtl")


def test_values_align_on_one_edge_in_arabic(page, live_server, operator, shot):
    """Right to left, every value (words and left-to-right numbers alike) ends on the same edge."""
    order = make_order(operator)
    log_in(page, live_server)
    set_language(page, "ar")
    page.goto(f"{live_server.url}/orders/{order.pk}/receipt/?width=58")
    lefts = page.evaluate("""() => [...document.querySelectorAll(".paper dd")].map(dd => {
        const range = document.createRange(); range.selectNodeContents(dd);
        const box = range.getBoundingClientRect(); return box.width ? box.left : null; })
        .filter(left => left !== null)""")
    assert len(lefts) >= 4 and max(lefts) - min(lefts) < 1, lefts
    shot(page, "receipt-58mm-ar")


def test_a_refunded_receipt_has_no_staff_instruction(page, live_server, operator):
    order = make_order(operator, status=S.REFUNDED)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    assert "Refund the customer" in page.inner_text("#order-status")  # the staff are told
    page.goto(f"{live_server.url}/orders/{order.pk}/receipt/?width=80")
    body = page.inner_text(".paper")
    assert "Refund the customer" not in body
    assert "Refunded" in body and "The shop hands you back what you paid." in body


def test_a_masked_code_offers_no_receipt(page, live_server, operator, make_user, shot):
    order = make_order(make_user("owner", "Operators"))
    log_in(page, live_server)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    status = page.inner_text("#order-status")
    assert CODE[-4:] in page.inner_text("#card-code") and CODE not in status
    assert "Give the customer the code below" not in status
    assert page.locator("a[href*=receipt]").count() == 0
    shot(page, "order-masked-code")
    page.goto(f"{live_server.url}/orders/{order.pk}/receipt/?width=58")
    assert page.locator(".paper").count() == 0 and page.locator("#print-receipt").count() == 0
    assert page.is_visible("#no-receipt")
    with translation.override("en"):
        assert CODE not in page.content()
