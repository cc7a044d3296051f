"""The money path's books, against the simulator over HTTP: a flexy top-up costs what the API
debited and is never priced below it; money handed back is booked in the cash session open when it
is handed back; the ledger allows one debit and one refund per top-up; a card the provider takes
back after delivery leaves the books."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tests.factories import OrderFactory
from topups.lines.mobile import plans as mobile
from topups.models import (
    FlagKind,
    HandBack,
    LedgerFlag,
    LedgerRow,
    LedgerState,
    Order,
    OrderEvent,
    OrderStatus,
    Till,
)
from topups.selectors import books
from topups.selectors import ledger as ledger_reads
from topups.services import ledger, lifecycle, orders, pricing, reconcile, sending, sync, tills
from topups.services.actors import SYNC, Actor

S = OrderStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(priced_shop, settings):
    """The shop as in production (a session required, cost + 20 DA), the mobile plans cached, the
    ledger matched at once."""
    settings.LEDGER_GRACE_SECONDS = 0
    priced_shop.configure(fulfil_after=0, mobile_pending_for=0)
    for lock in (ledger.SYNC_LOCK, reconcile.CHAIN_LOCK):
        cache.delete(lock)
    assert mobile.sync_plans().ok
    yield priced_shop
    for lock in (ledger.SYNC_LOCK, reconcile.CHAIN_LOCK):
        cache.delete(lock)


@pytest.fixture
def cashier(operator):
    return Actor.user(operator)


def sell(actor, number, value=1000, **kwargs) -> Order:
    order, created = orders.create_order(line_type=kwargs.pop("line_type", "ADSL"), number=number,
                                         value=Decimal(value), actor=actor, **kwargs)
    assert created
    return order


def send_and_follow(order, actor) -> Order:
    sending.send_order(order_id=order.pk, actor=actor)
    sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=SYNC)
    return Order.objects.get(pk=order.pk)


def flexy(actor, amount=1000) -> Order:
    return sell(actor, "0771234567", amount, line_type="", service="mobile", plan_code="PREPAID_DJEZZY")


def open_kinds() -> list[str]:
    return sorted(LedgerFlag.objects.filter(resolved_at__isnull=True).values_list("kind", flat=True))


# Point 3: the flexy cost ---------------------------------------------------------------------------


def test_a_full_amount_debit_becomes_the_cost_and_the_price_is_never_below_it(shop, cashier):
    shop.configure(mobile_debit="full")  # the response-format example: 1,000 DA debited for 1,000
    tills.open_till(actor=cashier, opening_cash="0")
    order = flexy(cashier)
    # The face value plus Djezzy's 12.50 DA fee, never below the most the API may debit (the full amount).
    assert (order.cost, order.price) == (Decimal("992.50"), Decimal("1012.50"))
    assert order.price >= pricing.debit_ceiling(order.value, order.cost) == Decimal(1000)
    order = send_and_follow(order, cashier)
    assert order.status == S.FULFILLED and order.cost == Decimal("1000.00") and order.cost_confirmed
    assert not order.sold_below_cost
    reconcile.run(backfill_days=1)
    assert open_kinds() == []  # no "amount differs" flag for what the API said it debited
    assert LedgerRow.objects.get(type="FLEXY").state == LedgerState.MATCHED
    row = books.report(start=timezone.localdate(), end=timezone.localdate(), group="service").rows[0]
    assert (row.revenue, row.cost, row.profit, row.below_cost_count) == (
        Decimal("1012.50"), Decimal("1000.00"), Decimal("12.50"), 0)


def test_a_debit_above_the_price_is_flagged_on_the_order_and_in_the_books(shop, cashier, client, supervisor):
    tills.open_till(actor=cashier, opening_cash="0")
    order = flexy(cashier)
    shop.charge_differently(order.ref, "1100")  # the API takes more than the price
    shop.spoil_topup(order.ref, {"balance_amount": None})  # and its answer does not say so: the ledger does
    order = send_and_follow(order, cashier)
    assert order.status == S.FULFILLED and order.cost == Decimal("992.50") and not order.cost_confirmed
    reconcile.run(backfill_days=1)
    order.refresh_from_db()
    assert order.cost == Decimal("1100.00") and order.cost_confirmed and order.sold_below_cost
    assert open_kinds() == []
    assert OrderEvent.objects.filter(order=order, note_code__startswith="Cost set to what the API debited").exists()
    today = timezone.localdate()
    row = books.report(start=today, end=today, group="service").rows[0]
    assert (row.cost, row.profit, row.below_cost_count) == (Decimal("1100.00"), Decimal("-87.50"), 1)
    client.force_login(supervisor)
    assert 'id="below-cost"' in client.get(reverse("topups:order", args=[order.pk])).content.decode()
    page = client.get(reverse("topups:reports"), {"group": "service"}).content.decode()
    assert 'data-below-cost-total>1<' in page


# Point 4: money handed back after its session closed ---------------------------------------------------


def test_money_handed_back_after_the_session_closed_is_booked_in_the_session_open_then(shop, cashier, client,
                                                                                       operator):
    first = tills.open_till(actor=cashier, opening_cash="500")
    slow = send_and_follow(sell(cashier, "036362693"), cashier)  # 980 + 20: still processing at the close
    flexy_sale = send_and_follow(flexy(cashier), cashier)
    assert (slow.status, slow.price, flexy_sale.status) == (S.HANDLING, Decimal(1000), S.FULFILLED)
    closed = tills.close_till(till_id=first.pk, counted_cash="2512.50", actor=cashier)
    assert (closed.sales, closed.handed_back, closed.expected_cash, closed.carried_over) == (
        Decimal("2012.50"), Decimal(0), Decimal("2512.50"), [slow.ref])
    second = tills.open_till(actor=cashier, opening_cash="300")
    shop.refund_topup(slow.ref)  # the API gives up on it the next morning
    sync.refresh_orders([Order.objects.get(pk=slow.pk)], actor=SYNC)
    slow.refresh_from_db()
    assert slow.status == S.REFUNDED
    entry = HandBack.objects.get(order=slow)
    assert (entry.till_id, entry.origin_till_id, entry.amount) == (second.pk, first.pk, Decimal(1000))
    now = tills.figures(second)
    assert (now.sales, now.handed_back, now.expected_cash) == (Decimal(0), Decimal(1000), Decimal(-700))
    # The closed session keeps its figures, per service too, on its page and its print.
    first.refresh_from_db()
    assert (first.handed_back, first.expected_cash) == (Decimal(0), Decimal("2512.50"))
    split = {row.key[0]: row for row in books.till_by_service(first)}
    assert split["internet"].refunds == 0 and split["internet"].taken == Decimal(1000)
    client.force_login(operator)
    page = client.get(reverse("topups:till", args=[first.pk])).content.decode()
    internet = re.search(r'<tr data-service="internet">(.*?)</tr>', page).group(1)
    assert re.findall(r'<td class="num">([^<]*)</td>', internet)[1:] == ["1,000.00 DA", "0.00 DA (0)"]
    assert "2,512.50" in page and "till-hand-backs" not in page  # nothing was handed back in it
    later = client.get(reverse("topups:my_till")).content.decode()
    assert f'data-hand-back="{slow.ref}"' in later and reverse("topups:till", args=[first.pk]) in later
    receipt = client.get(reverse("topups:till", args=[first.pk]) + "?paper=80").content.decode()
    assert "2,512.50" in receipt and "1,000.00" in receipt.split('id="till-by-service"', 1)[1]
    # Every session adds up to the dinar: sales minus money handed back, whichever session paid it.
    second = Till.objects.get(pk=second.pk)
    total = sum((tills.figures(t).expected_cash - t.opening_cash for t in (second,)), Decimal(0)) + (
        first.expected_cash - first.opening_cash)
    sold = sum(o.price for o in Order.objects.all())
    handed_back = sum(o.price for o in Order.objects.filter(status__in=[S.REFUNDED, S.REFUSED, S.CANCELLED,
                                                                       S.TAKEN_BACK]))
    assert total == sold - handed_back == Decimal("1012.50")


def test_money_handed_back_with_no_session_open_goes_to_the_cashiers_next_one(shop, cashier):
    first = tills.open_till(actor=cashier, opening_cash="0")
    slow = send_and_follow(sell(cashier, "036362693"), cashier)
    tills.close_till(till_id=first.pk, counted_cash="1000", actor=cashier)
    shop.refund_topup(slow.ref)
    sync.refresh_orders([Order.objects.get(pk=slow.pk)], actor=SYNC)
    entry = HandBack.objects.get(order=slow)
    assert entry.till is None and entry.booked_at is None
    later = tills.open_till(actor=cashier, opening_cash="0")
    assert tills.figures(later).handed_back == Decimal(1000)
    assert HandBack.objects.get(order=slow).till_id == later.pk


# Point 5: one debit and one refund per top-up -------------------------------------------------------


def test_a_second_debit_or_refund_and_a_refund_of_another_amount_are_flagged(shop, cashier):
    shop.set_balance(shop.balance + 20000)
    tills.open_till(actor=cashier, opening_cash="0")
    charged = send_and_follow(sell(cashier, "036362600"), cashier)
    refunded = send_and_follow(sell(cashier, "036362690"), cashier)
    slow = send_and_follow(sell(cashier, "036362693"), cashier)
    assert (charged.status, refunded.status, slow.status) == (S.FULFILLED, S.REFUNDED, S.HANDLING)
    shop.add_ledger_row(type="ADSL", amount=980, objid=charged.topup_id)  # the same top-up debited twice
    shop.add_ledger_row(type="REFUND-ADSL", amount=980, objid=refunded.topup_id)  # refunded twice
    shop.add_ledger_row(type="REFUND-ADSL", amount=500, objid=slow.topup_id)  # 500 back for a 980 debit
    reconcile.run(backfill_days=1)
    assert open_kinds() == [FlagKind.EXTRA_MOVEMENT, FlagKind.EXTRA_MOVEMENT, FlagKind.REFUND_DIFFERS]
    for order, kind in ((charged, "ADSL"), (refunded, "REFUND-ADSL")):
        first, second = LedgerRow.objects.filter(objid=order.topup_id, type=kind).order_by("pk")
        assert (first.state, second.state) == (LedgerState.MATCHED, LedgerState.FLAGGED)
        assert second.flags.get().kind == FlagKind.EXTRA_MOVEMENT and second.order_id == order.pk
    differs = LedgerFlag.objects.get(kind=FlagKind.REFUND_DIFFERS)
    assert (differs.order_id, differs.expected, differs.found) == (slow.pk, Decimal(980), Decimal(500))
    assert reconcile.run().match.flags == 0  # judged once


# Issue 26, point 4: a card taken back after delivery -----------------------------------------------------


def test_a_card_taken_back_leaves_the_books_and_its_money_is_handed_back_in_the_open_session(
        shop, cashier, client, supervisor, operator):
    first = tills.open_till(actor=cashier, opening_cash="0")
    card = send_and_follow(sell(cashier, "036362600"), cashier)
    assert card.status == S.FULFILLED and card.price == Decimal(1000)
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    Order.objects.filter(pk=card.pk).update(created_at=timezone.now() - timedelta(days=1))  # sold yesterday
    tills.close_till(till_id=first.pk, counted_cash="1000", actor=cashier)
    second = tills.open_till(actor=cashier, opening_cash="0")
    shop.refund_topup(card.ref)  # the provider reverses the delivered card
    reconcile.run(backfill_days=1)
    flag = LedgerFlag.objects.get(resolved_at__isnull=True)
    assert (flag.kind, flag.order_id) == (FlagKind.REFUND_NOT_LOCAL, card.pk)
    assert ledger_reads.day_summary(flag.day).difference == Decimal(980)  # a refund our books do not know yet
    client.force_login(supervisor)
    day = client.get(reverse("topups:ledger"), {"date": flag.day.isoformat()}).content.decode()
    assert "data-takes-back" in day  # the supervisor is told what resolving does
    response = client.post(reverse("topups:ledger_resolve", args=[flag.pk]),
                           {"note": "Card reversed by Algérie Télécom, customer refunded"}, follow=True)
    assert "is now Card taken back" in response.content.decode()
    card.refresh_from_db()
    assert card.status == S.TAKEN_BACK and card.is_final
    event = OrderEvent.objects.filter(order=card).latest("pk")
    assert (event.from_status, event.to_status, event.actor_label) == (S.FULFILLED, S.TAKEN_BACK, "sam")
    entry = HandBack.objects.get(order=card)
    assert (entry.till_id, entry.origin_till_id, entry.amount) == (second.pk, first.pk, Decimal(1000))
    assert tills.figures(second).handed_back == Decimal(1000)
    summary = ledger_reads.day_summary(flag.day)
    assert (summary.difference, summary.our_debits, summary.our_refunds) == (0, Decimal(980), Decimal(980))
    # The sale stays in yesterday's books and leaves them today, the day it was taken back.
    sold_day = books.report(start=yesterday, end=yesterday, group="day").rows
    assert [(r.key[0], r.revenue, r.cost, r.refunds) for r in sold_day] == [(yesterday, Decimal(1000), 980, 0)]
    taken_day = books.report(start=today, end=today, group="service").rows
    assert [(r.orders, r.revenue, r.cost, r.refunds, r.refund_count) for r in taken_day] == [
        (0, Decimal(-1000), -980, Decimal(1000), 1)]
    both = books.report(start=yesterday, end=today, group="day").rows
    assert [(r.key[0], r.revenue, r.refunds) for r in both] == [(yesterday, 1000, 0), (today, -1000, 1000)]
    assert books.report(start=yesterday, end=today, group="cashier").total.revenue == 0
    chart = books.daily_chart(books.report(start=today, end=today, group="day").rows, start=today, end=today)
    assert chart.bars and all(bar.height >= 0 for bar in chart.bars)  # no bar below the axis
    assert client.get(reverse("topups:reports"), {"group": "product"}).status_code == 200
    page = client.get(reverse("topups:order", args=[card.pk])).content.decode()
    assert "took this top-up back" in page and 'id="hand-back"' in page
    # Resolving again (a second click) moves nothing and books nothing twice.
    client.post(reverse("topups:ledger_resolve", args=[flag.pk]), {"note": "again"})
    assert HandBack.objects.filter(order=card).count() == 1


def test_a_card_taken_back_with_a_refund_of_another_sum_leaves_the_books_too(shop, cashier, client, supervisor):
    """The provider may give back another sum than it debited for a card it takes back: the flag
    says the refund differs, and resolving it takes the card back all the same (the page says so
    first), its price handed back in the session open then."""
    tills.open_till(actor=cashier, opening_cash="0")
    card = send_and_follow(sell(cashier, "036362600"), cashier)
    assert card.status == S.FULFILLED
    shop.refund_topup(card.ref, amount=Decimal(900))
    reconcile.run(backfill_days=1)
    flag = LedgerFlag.objects.get(resolved_at__isnull=True)
    assert (flag.kind, flag.order_id) == (FlagKind.REFUND_DIFFERS, card.pk)
    client.force_login(supervisor)
    day = client.get(reverse("topups:ledger"), {"date": flag.day.isoformat()}).content.decode()
    assert "data-takes-back" in day
    client.post(reverse("topups:ledger_resolve", args=[flag.pk]), {"note": "Reversed, 900 DA given back"})
    card.refresh_from_db()
    assert card.status == S.TAKEN_BACK
    assert HandBack.objects.get(order=card).amount == Decimal(1000)


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_money_handed_back_never_lands_in_a_session_being_closed(operator, monkeypatch):
    """A refund booked while the session it would go to is being closed waits for the close (the
    session's row lock), then finds it closed: it goes to the cashier's next session, never into a
    closed session whose figures are already stored without it."""
    actor = Actor.user(operator)
    first = tills.open_till(actor=actor, opening_cash="0")
    order = OrderFactory(cost=Decimal(980), price=Decimal(1000), status=S.HANDLING, created_by=operator, till=first)
    tills.close_till(till_id=first.pk, counted_cash="1000", actor=actor)
    second = tills.open_till(actor=actor, opening_cash="0")
    counting, real_figures = threading.Event(), tills.figures

    def slow_figures(till):
        numbers = real_figures(till)
        counting.set()  # the close holds the session's lock and has counted: take your time
        time.sleep(1.5)
        return numbers

    monkeypatch.setattr(tills, "figures", slow_figures)
    failures = []

    def close() -> None:
        try:
            tills.close_till(till_id=second.pk, counted_cash="0", actor=actor)
        except BaseException as exc:  # surfaced below
            failures.append(exc)
        finally:
            connection.close()

    closer = threading.Thread(target=close)
    closer.start()
    assert counting.wait(10)
    lifecycle.move(Order.objects.get(pk=order.pk), S.REFUNDED, SYNC)  # the API's refund, meanwhile
    closer.join(30)
    assert not failures
    second.refresh_from_db()
    entry = HandBack.objects.get(order=order)
    assert second.status == "closed" and second.handed_back == 0 and entry.till_id is None
    assert tills.figures(tills.open_till(actor=actor, opening_cash="0")).handed_back == Decimal(1000)
