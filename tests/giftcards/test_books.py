"""Gift cards in the books and the ledger: every outcome, and an order adopted after a lost answer,
leave ORDER / REFUND-ORDER rows that reconciliation matches with no flag; the day's summary agrees
with the ledger; a partial fill's undelivered part is money handed back in the cash session and in
the reports."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests import factories
from tests.giftcards.test_pipeline import place, refresh, send
from topups.days import shop_day
from topups.models import HandBack, LedgerRow, LedgerState, OrderStatus
from topups.selectors import ledger as ledger_reads
from topups.services import ledger, reconcile, tills

S = OrderStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def gift_books(gift, settings):
    settings.LEDGER_GRACE_SECONDS = 0
    cache.delete(ledger.SYNC_LOCK)
    cache.delete(reconcile.CHAIN_LOCK)
    yield gift
    cache.delete(ledger.SYNC_LOCK)


def test_every_outcome_is_matched_in_the_ledger_without_flags(gift_books, staff):
    tills.open_till(actor=staff, opening_cash=0)
    fulfilled, partial, refunded = place(staff), place(staff, "TEST_PARTIAL", 4), place(staff, "TEST_REFUND", 1)
    gift_books.inject_fault("gift-place-order", "reset_after", count=1)
    adopted = place(staff, quantity=1)
    for order in (fulfilled, partial, refunded, adopted):
        send(order, staff)
    gift_books.advance(5)
    orders = [refresh(o) for o in (fulfilled, partial, refunded, adopted)]
    orders = [refresh(o) for o in orders]  # the adopted one: found, then followed
    assert [o.status for o in orders] == [S.FULFILLED, S.FULFILLED, S.REFUNDED, S.FULFILLED]
    result = reconcile.run(backfill_days=1)
    assert result.open_flags == 0
    rows = LedgerRow.objects.filter(type__in=["ORDER", "REFUND-ORDER"])
    assert rows.count() == 6 and set(rows.values_list("state", flat=True)) == {LedgerState.MATCHED}
    summary = ledger_reads.day_summary(shop_day(timezone.now()))
    assert summary.difference == Decimal(0)
    backs = dict(HandBack.objects.values_list("order_id", "amount"))
    assert backs == {orders[1].pk: orders[1].price / 2, orders[2].pk: orders[2].price}
    # The report: a partial fill's undelivered half leaves its revenue and its cost (the provider
    # refunded that share) and is counted as handed back, as the cash session books it.
    from topups.selectors import books

    total = books.report(start=shop_day(timezone.now()), end=shop_day(timezone.now())).total
    sold = [orders[0], orders[1], orders[3]]
    assert total.revenue == sum(o.price for o in sold) - orders[1].price / 2
    assert total.cost == sum(o.cost for o in sold) - orders[1].cost / 2
    assert total.refunds == orders[2].price + orders[1].price / 2
    from topups import selectors

    assert selectors.today_summary().total_cost == total.cost  # the home page counts it the same way


def test_reports_name_gift_cards_by_product_and_apart_from_flexy(gift_books, staff):
    from topups.selectors import books

    sold = place(staff)
    factories.place(staff, service="mobile")
    send(sold, staff)
    today = shop_day(timezone.now())
    by_product = {row.label: row for row in books.report(start=today, end=today, group="product").rows}
    assert by_product["PlayStation Network — PSN 500 DA"].orders == 1
    by_type = {row.label: row.orders for row in books.report(start=today, end=today, group="line_type").rows}
    assert by_type["Gift cards"] == 1 and by_type["Mobile top-up"] == 1


def test_the_report_by_category_adds_up_each_line_s_categories(gift_books, staff, supervisor, client):
    from topups.lines.giftcards import catalog as gift_catalog
    from topups.selectors import books

    netflix = "507f1f77bcf86cd799439013"
    gift_catalog.check_types(netflix)
    tills.open_till(actor=staff, opening_cash=0)
    sold = [place(staff, quantity=1), place(staff, "type_002", 1),
            factories.place(staff, service="giftcard", plan_code=f"{netflix}:nf_1m", number="1"),
            factories.place(staff)]
    for order in sold:
        send(order, staff)
    gift_books.advance(5)
    sold = [refresh(o) for o in sold]
    assert {o.status for o in sold} == {S.FULFILLED}, [o.status for o in sold]
    today = shop_day(timezone.now())
    by_category = {row.label: row for row in books.report(start=today, end=today, group="category").rows}
    assert set(by_category) == {"Gift cards: Gaming Cards", "Gift cards: Streaming", "ADSL"}
    gaming = by_category["Gift cards: Gaming Cards"]
    assert gaming.orders == 2 and gaming.revenue == sold[0].price + sold[1].price
    assert gaming.cost == sold[0].cost + sold[1].cost
    assert by_category["Gift cards: Streaming"].revenue == sold[2].price
    by_product = books.report(start=today, end=today, group="product")
    assert len(by_product.rows) == 4 and books.report(start=today, end=today, group="category").total == by_product.total
    # The page and its export offer it.
    client.force_login(supervisor)
    page = client.get("/reports/", {"group": "category", "start": today.isoformat(), "end": today.isoformat()})
    assert page.status_code == 200 and "Gift cards: Streaming" in page.content.decode()


def test_a_partial_refund_read_before_our_order_is_final_waits_instead_of_being_flagged(gift_books, staff, settings):
    """The reconciliation reads a partial fill's refund while our order is still processing (the
    sync has not seen the fill yet): its amount is not the whole debit, and that is no difference."""
    from topups.models import LedgerFlag

    settings.LEDGER_GRACE_SECONDS = 600
    order = place(staff, "TEST_PARTIAL", 2)
    send(order, staff)
    gift_books.advance(5)  # filled in part and refunded at the provider; ours still processing
    reconcile.run(backfill_days=1)
    assert not LedgerFlag.objects.exists()
    assert LedgerRow.objects.get(type="REFUND-ORDER").state == LedgerState.PENDING
    assert refresh(order).status == S.FULFILLED
    reconcile.run(backfill_days=1)
    assert not LedgerFlag.objects.exists()
    assert LedgerRow.objects.get(type="REFUND-ORDER").state == LedgerState.MATCHED
