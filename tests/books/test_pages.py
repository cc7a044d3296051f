"""The books' pages through the test client: the report adds up and costs a constant number of
queries, exports go through the one export path, bad input is told and changes nothing, the
actions are refused to the wrong role, receipts carry the price and mark reprints."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from topups.lines.internet import catalog
from topups.models import (
    AuditEvent,
    CardInstructions,
    Order,
    OrderStatus,
    PriceMode,
    PriceRule,
    Till,
    TillStatus,
)
from topups.services import orders, pricing, tills
from topups.services.actors import Actor

S = OrderStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(priced_shop):
    return priced_shop


def make_orders(user, count: int, *, days_ago: int = 0, status=S.FULFILLED, value=1000):
    """Orders as a day of sales leaves them (created directly: the report reads the rows)."""
    when = timezone.now() - timedelta(days=days_ago)
    Order.objects.bulk_create([
        Order(line_type="ADSL", number=f"0363626{i:02d}", value=Decimal(value), cost=Decimal(value) - 20,
              price=Decimal(value) + 20, status=status, created_by=user, created_at=when) for i in range(count)])


def test_report_adds_up_with_constant_queries(client, shop, supervisor, operator):
    client.force_login(supervisor)
    url = reverse("topups:reports") + "?group=cashier"
    make_orders(operator, 2)
    client.get(url)  # the session and permissions, cached for the request after
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    make_orders(operator, 30, days_ago=1)
    make_orders(supervisor, 5, status=S.REFUNDED, value=500)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.status_code == 200
    assert len(many) == len(few)
    report = response.context["report"]
    by_cashier = {row.label: row for row in report.rows}
    olga, sam = by_cashier["olga"], by_cashier["sam"]
    assert (olga.orders, olga.revenue, olga.cost, olga.profit) == (32, Decimal(32 * 1020), Decimal(32 * 980),
                                                                   Decimal(32 * 40))
    assert (sam.orders, sam.revenue, sam.refunds, sam.refund_count) == (5, 0, Decimal(5 * 520), 5)
    assert b'id="daily-chart"' in response.content and b"<script" not in response.content.split(b"</main>")[0]


def test_report_export_uses_the_export_path_and_is_audited(client, shop, supervisor, operator):
    make_orders(operator, 3)
    client.force_login(supervisor)
    response = client.get(reverse("topups:reports") + "?group=product&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "Product,Orders,Revenue,Cost,Profit,Refunds,Refunded orders"
    assert lines[1].endswith(",3,3060.00,2940.00,120.00,0.00,0")
    xlsx = client.get(reverse("topups:reports") + "?format=xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert AuditEvent.objects.filter(action="export", target__startswith="report.").count() == 2


def test_bad_report_dates_are_told(client, shop, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("topups:reports") + "?start=2026-05-10&end=2026-05-01")
    assert response.status_code == 400 and "before the start" in response.content.decode()


@pytest.mark.parametrize(("amount", "message"), [
    ("-1", "cannot be negative"), ("abc", "Enter a number"), ("12.345", "At most 2 decimals"),
    ("900", "below the card"),
])
def test_bad_price_from_the_page(client, shop, supervisor, amount, message):
    client.force_login(supervisor)
    before = list(PriceRule.objects.values_list("pk", "amount"))
    response = client.post(reverse("topups:prices"), {"product": "ADSL:1000.00", "mode": "fixed", "amount": amount,
                                                      "rounding": "0"})
    assert response.status_code == 400 and message in response.content.decode()
    assert list(PriceRule.objects.values_list("pk", "amount")) == before


def test_price_set_from_the_page_shows_on_the_form(client, shop, supervisor, operator):
    client.force_login(supervisor)
    response = client.post(reverse("topups:prices"), {"product": "ADSL:1000.00", "mode": "fixed",
                                                      "amount": "1050", "rounding": "0"})
    assert response.status_code == 302
    client.force_login(operator)
    assert "price 1,050.00 DA" in client.get(reverse("topups:new_order")).content.decode()


def test_actions_refused_to_operators(client, shop, operator, supervisor):
    till = tills.open_till(actor=Actor.user(supervisor), opening_cash="0")
    tills.close_till(till_id=till.pk, counted_cash="0", actor=Actor.user(supervisor))
    client.force_login(operator)
    assert client.post(reverse("topups:prices"), {"product": "", "mode": "fixed", "amount": "1"}).status_code == 403
    assert client.post(reverse("topups:till_approve", args=[till.pk])).status_code == 403
    assert client.post(reverse("topups:till_reopen", args=[till.pk])).status_code == 403
    assert client.get(reverse("topups:till", args=[till.pk])).status_code == 403  # another cashier's
    assert Till.objects.get(pk=till.pk).status == TillStatus.CLOSED
    assert not PriceRule.objects.filter(mode="fixed").exists()


def test_close_from_the_page(client, shop, operator):
    client.force_login(operator)
    url = reverse("topups:my_till")
    response = client.post(url, {"action": "open", "opening_cash": "-5"})
    assert response.status_code == 400 and "cannot be negative" in response.content.decode()
    assert not Till.objects.exists()
    client.post(url, {"action": "open", "opening_cash": "1000"})
    till = Till.objects.get()
    response = client.post(url, {"action": "close", "counted_cash": ""})
    assert response.status_code == 400 and "Enter the cash counted" in response.content.decode()
    assert Till.objects.get().status == TillStatus.OPEN
    response = client.post(url, {"action": "close", "counted_cash": "990"})
    assert response.status_code == 302 and response["Location"] == reverse("topups:till", args=[till.pk])
    page = client.get(response["Location"]).content.decode()
    assert "-10.00 DA" in page
    assert client.get(response["Location"] + "?paper=80").status_code == 200


def test_receipt_price_instructions_and_duplicates(client, shop, operator, settings):
    settings.SHOP_ADDRESS, settings.SHOP_PHONE = "12 rue Didouche Mourad, Alger", "021 00 00 00"
    CardInstructions.objects.create(line_type="ADSL", language="en", text="Dial *600* then the code.")
    staff = Actor.user(operator)
    tills.open_till(actor=staff, opening_cash="0")
    order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000), actor=staff)
    Order.objects.filter(pk=order.pk).update(status=S.FULFILLED, card_code="123456789012")
    client.force_login(operator)
    url = reverse("topups:order_receipt", args=[order.pk])
    first = client.post(url, {"width": "80"}).content.decode()
    assert "1,000.00 DA" in first and "Didouche" in first and "021 00 00 00" in first and "*600*" in first
    assert "DUPLICATE" not in first and "data-autoprint" in first
    assert "DUPLICATE (2)" in client.get(url).content.decode()  # what the next print will be
    second = client.post(url, {"width": "58"}).content.decode()
    assert "DUPLICATE (2)" in second
    assert Order.objects.get(pk=order.pk).receipt_prints == 2
    assert list(AuditEvent.objects.filter(target=order.ref, action__startswith="receipt_")
                .order_by("pk").values_list("action", "actor_id", "detail")) == [
        ("receipt_print", operator.pk, {"print": 1}), ("receipt_reprint", operator.pk, {"print": 2})]
    detail = client.get(reverse("topups:order", args=[order.pk])).content.decode()
    assert 'id="price-charged"' in detail and 'id="hand-back"' not in detail


def test_below_cost_is_flagged_on_the_supervisors_home(client, shop, supervisor, operator):
    """"Sold below cost" only once something was: a price below cost alone is flagged on the
    selling-prices page, not as a sale."""
    pricing.set_rule(line_type="ADSL", value=1000, mode=PriceMode.FIXED, amount="990", allow_below_cost=True,
                     actor=Actor.user(supervisor))
    client.force_login(supervisor)
    assert 'id="below-cost"' not in client.get(reverse("topups:home")).content.decode()
    shop.set_cost("ADSL", 1000, "995")
    catalog.sync_catalog()
    assert 'id="below-cost"' not in client.get(reverse("topups:home")).content.decode()  # nothing sold yet
    tills.open_till(actor=Actor.user(supervisor), opening_cash="0")
    orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000), actor=Actor.user(supervisor))
    page = client.get(reverse("topups:home")).content.decode()
    assert 'id="below-cost"' in page and "ADSL 1000 (1 order" in page
    client.force_login(operator)  # a cashier is refused the sale instead (test_books_pricing)
    assert 'id="below-cost"' not in client.get(reverse("topups:home")).content.decode()


def test_the_admins_order_form_keeps_the_books_rules(client, shop, supervisor):
    """Adding an order in the admin: refused with a message (not an error page) without a session
    or below cost, like the counter."""
    form = {"line_type": "ADSL", "number": "036362600", "value": "1000", "note": "",
            "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0", "events-MIN_NUM_FORMS": "0",
            "events-MAX_NUM_FORMS": "1000"}
    client.force_login(supervisor)
    url = reverse("admin:topups_order_add")
    response = client.post(url, form)
    assert response.status_code == 200 and "Open your cash session" in response.content.decode()
    tills.open_till(actor=Actor.user(supervisor), opening_cash="0")
    pricing.set_rule(line_type="ADSL", value=1000, mode=PriceMode.FIXED, amount="970", allow_below_cost=True,
                     actor=Actor.user(supervisor))
    PriceRule.objects.filter(line_type="ADSL").update(allow_below_cost=False)  # as if the cost rose since
    response = client.post(url, form)
    assert response.status_code == 200 and "below its cost" in response.content.decode()
    assert not Order.objects.exists()
    PriceRule.objects.filter(line_type="ADSL").update(amount=1050)
    assert client.post(url, form).status_code == 302
    assert Order.objects.get().price == Decimal(1050)


def test_a_bulk_files_preview_shows_and_keeps_its_prices(client, shop, supervisor):
    from topups.services import batches

    boss = Actor.user(supervisor)
    tills.open_till(actor=boss, opening_cash="0")  # a bulk file's orders are sales of a session
    content = b"type,number,value\nADSL,036362600,1000\nADSL,036362601,500\n"
    batch = batches.preview_batch(file_name="x.csv", data=content, actor=boss)
    assert [row["price"] for row in batch.rows] == ["1000.00", "510.00"]  # cost + 20
    client.force_login(supervisor)
    assert "510.00" in client.get(reverse("topups:batch", args=[batch.pk])).content.decode()
    pricing.set_rule(line_type="ADSL", value=500, mode=PriceMode.FIXED, amount="600", actor=boss)
    # The price changed since the preview: confirming shows the new preview, creates nothing.
    assert batches.confirm_batch(batch_id=batch.pk, actor=boss).changed
    assert not Order.objects.exists()
    assert batches.confirm_batch(batch_id=batch.pk, actor=boss).changed is False
    assert sorted(Order.objects.values_list("price", flat=True)) == [Decimal(600), Decimal(1000)]


def test_a_bulk_row_priced_below_its_cost_is_refused_as_at_the_counter(shop, supervisor):
    """A fixed price the card's cost has risen above is refused at the counter until a supervisor
    allows it; a bulk file's row for that card is refused the same way, never sent below cost."""
    from topups.batch_messages import problem_message
    from topups.services import batches

    boss = Actor.user(supervisor)
    tills.open_till(actor=boss, opening_cash="0")  # a bulk file's orders are sales of a session
    PriceRule.objects.create(line_type="ADSL", value=500, mode=PriceMode.FIXED, amount=Decimal(400))
    content = b"type,number,value\nADSL,036362600,1000\nADSL,036362601,500\n"
    batch = batches.preview_batch(file_name="x.csv", data=content, actor=boss)
    assert [row["valid"] for row in batch.rows] == [True, False]
    assert [code for code, _params in batch.rows[1]["errors"]] == ["below_cost"]
    assert problem_message(*batch.rows[1]["errors"][0]) == ("This card's price (400.00 DA) is below its cost: "
                                                            "a supervisor must allow it first.")
    assert batches.confirm_batch(batch_id=batch.pk, actor=boss).created == 1
    assert list(Order.objects.values_list("price", flat=True)) == [Decimal(1000)]
    # Once a supervisor allows it, the row goes through.
    PriceRule.objects.filter(line_type="ADSL", value=500).update(allow_below_cost=True)
    batch = batches.preview_batch(file_name="y.csv", data=b"type,number,value\nADSL,036362602,500\n", actor=boss)
    assert [row["valid"] for row in batch.rows] == [True]


def text(page: str) -> str:
    """A page's text without its tags (the receipt sets a card code in groups of four)."""
    return re.sub(r"<[^>]+>", "", page)


def test_a_receipt_print_is_counted_only_by_a_post_of_someone_who_may_print_it(shop, operator, make_user):
    """Another operator (the code masked for them) cannot use up the seller's original; a GET never
    counts; the count is a POST that needs the CSRF token."""
    staff = Actor.user(operator)
    tills.open_till(actor=staff, opening_cash="0")
    order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000), actor=staff)
    Order.objects.filter(pk=order.pk).update(status=S.FULFILLED, card_code="123456789012")
    url = reverse("topups:order_receipt", args=[order.pk])
    other = Client(enforce_csrf_checks=True)
    other.force_login(make_user("omar", "Operators"))
    page = other.get(url)
    assert page.status_code == 200 and 'id="no-receipt"' in page.content.decode()
    other.get(reverse("topups:orders"))  # a page with a form: the CSRF cookie
    refused = other.post(url, {"width": "80", "csrfmiddlewaretoken": other.cookies["csrftoken"].value})
    assert refused.status_code == 403 and "123456789012" not in text(refused.content.decode())
    seller = Client(enforce_csrf_checks=True)
    seller.force_login(operator)
    for _ in range(3):
        assert seller.get(url).status_code == 200
    assert seller.post(url, {"width": "80"}).status_code == 403  # no CSRF token: a cross-site form
    assert Order.objects.get(pk=order.pk).receipt_prints == 0
    assert not AuditEvent.objects.filter(action__startswith="receipt_").exists()
    printed = seller.post(url, {"width": "80", "csrfmiddlewaretoken": seller.cookies["csrftoken"].value})
    printed = printed.content.decode()
    assert "DUPLICATE" not in printed and "123456789012" in text(printed)  # the code, in groups of four
    assert Order.objects.get(pk=order.pk).receipt_prints == 1
    assert AuditEvent.objects.get(action="receipt_print").actor_id == operator.pk


def test_the_close_receipt_prints_the_cashiers_explanation_and_the_approval_note(client, shop, operator,
                                                                                   supervisor):
    till = tills.open_till(actor=Actor.user(operator), opening_cash="100")
    tills.close_till(till_id=till.pk, counted_cash="90", note="10 DA given as change twice",
                     actor=Actor.user(operator))
    client.force_login(operator)
    receipt = client.get(reverse("topups:till", args=[till.pk]) + "?paper=58").content.decode()
    assert 'id="till-close-note"' in receipt and "10 DA given as change twice" in receipt
    tills.approve_till(till_id=till.pk, actor=Actor.user(supervisor), note="seen with the cashier")
    receipt = client.get(reverse("topups:till", args=[till.pk]) + "?paper=80").content.decode()
    assert "10 DA given as change twice" in receipt and "seen with the cashier" in receipt


def test_a_carried_over_reference_never_breaks_on_the_session_page(client, shop, operator):
    """A reference is a value: "OC-261206-…" wrapped at its hyphen (as it was in Arabic on a phone)
    reads as two orders."""
    till = tills.open_till(actor=Actor.user(operator), opening_cash="0")
    order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000),
                                   actor=Actor.user(operator), send=False)
    tills.close_till(till_id=till.pk, counted_cash="1000", actor=Actor.user(operator))
    client.force_login(operator)
    page = client.get(reverse("topups:till", args=[till.pk])).content.decode()
    assert f'<span class="nowrap">{order.ref}</span>' in page


def test_the_session_page_shows_notes_and_earlier_closes_and_refuses_ones_own(client, shop, operator, supervisor,
                                                                             make_user):
    client.force_login(operator)
    client.post(reverse("topups:my_till"), {"action": "open", "opening_cash": "100"})
    till = Till.objects.get(cashier=operator)
    response = client.post(reverse("topups:my_till"), {"action": "close", "counted_cash": "90",
                                                      "note": "10 DA given as change twice"})
    assert response.status_code == 302 and Till.objects.get(pk=till.pk).close_note == "10 DA given as change twice"
    client.force_login(supervisor)
    url = reverse("topups:till", args=[till.pk])
    assert 'id="approve-till"' in client.get(url).content.decode()
    client.post(reverse("topups:till_approve", args=[till.pk]), {"note": "seen with the cashier"})
    client.post(reverse("topups:till_reopen", args=[till.pk]))
    client.force_login(operator)
    client.post(reverse("topups:my_till"), {"action": "close", "counted_cash": "100"})
    client.force_login(supervisor)
    page = client.get(url).content.decode()
    assert page.count("data-earlier-close") == 1 and "90.00 DA" in page and "-10.00 DA" in page
    assert "10 DA given as change twice" in page and "seen with the cashier" in page
    # The supervisor's own session: no buttons, the reason said, and the POST refused.
    own = tills.open_till(actor=Actor.user(supervisor), opening_cash="0")
    tills.close_till(till_id=own.pk, counted_cash="0", actor=Actor.user(supervisor))
    own_page = client.get(reverse("topups:till", args=[own.pk])).content.decode()
    assert 'id="approve-till"' not in own_page and 'id="four-eyes"' in own_page
    response = client.post(reverse("topups:till_approve", args=[own.pk]), {"note": ""}, follow=True)
    assert "another supervisor must approve" in response.content.decode()
    assert Till.objects.get(pk=own.pk).status == TillStatus.CLOSED
