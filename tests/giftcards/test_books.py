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
