"""The cashier's daily close: orders attach to the open session, the close adds up to the dinar,
bad closes change nothing, approvals and reopenings are audited, and (on PostgreSQL) two closes
at once or an order sent while its session closes are settled by the row lock."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from topups.models import AuditEvent, Order, OrderStatus, Till, TillClose, TillStatus
from topups.services import orders, sync, tills
from topups.services.actors import SYNC, Actor

S = OrderStatus


@pytest.fixture
def books(priced_shop):
    return priced_shop


def sell(staff, number, value=1000) -> Order:
    return orders.create_order(line_type="ADSL", number=number, value=Decimal(value), actor=staff, send=True)[0]


@pytest.mark.django_db
def test_no_sale_without_an_open_session(books, operator):
    staff = Actor.user(operator)
    with pytest.raises(orders.OrderInputError, match="Open your cash session"):
        sell(staff, "036362600")
    assert not Order.objects.exists()
    tills.open_till(actor=staff, opening_cash="100")
    with pytest.raises(tills.TillError):
        tills.open_till(actor=staff, opening_cash="100")  # one open session per cashier
    assert sell(staff, "036362600").till.cashier == operator


@pytest.mark.django_db
def test_a_day_close_adds_up_to_the_dinar(books, operator, supervisor):
    staff = Actor.user(operator)
    till = tills.open_till(actor=staff, opening_cash="2000")
    fulfilled = sell(staff, "036362600")  # 980 + 20 = 1000
    refunded = sell(staff, "036362690", 2000)  # 1960 + 20 = 1980, handed back
    refused = sell(staff, "036362699", 500)  # 490 + 20 = 510, refused by the API (no such line): handed back
    queued = sell(staff, "036362602", 500)  # 510, still at the API: carried over
    books.advance(5)
    for order in (fulfilled, refunded):
        sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=SYNC)
    Order.objects.filter(pk=queued.pk).update(status=S.QUEUED)
    assert dict(Order.objects.values_list("ref", "status")) == {
        fulfilled.ref: S.FULFILLED, refunded.ref: S.REFUNDED, refused.ref: S.REFUSED, queued.ref: S.QUEUED}
    closed = tills.close_till(till_id=till.pk, counted_cash="3500", actor=staff)
    assert closed.sales == Decimal(1000 + 1980 + 510 + 510)
    assert closed.handed_back == Decimal(1980 + 510)
    assert closed.expected_cash == Decimal(2000 + 4000 - 2490) == Decimal(3510)
    assert closed.difference == Decimal(-10)
    assert closed.carried_over == [queued.ref]
    stored = Till.objects.get(pk=till.pk)
    assert (stored.status, stored.expected_cash, stored.counted_cash) == (TillStatus.CLOSED, 3510, 3500)
    # Closed: no more sales in it.
    with pytest.raises(orders.OrderInputError):
        sell(staff, "036362603")
    boss = Actor.user(supervisor)
    assert tills.approve_till(till_id=till.pk, actor=boss).status == TillStatus.APPROVED
    assert tills.reopen_till(till_id=till.pk, actor=boss).status == TillStatus.OPEN
    assert list(AuditEvent.objects.filter(action__startswith="till_").order_by("pk").values_list("action", flat=True)
                ) == ["till_open", "till_close", "till_approve", "till_reopen"]


@pytest.mark.django_db
def test_nobody_approves_or_reopens_a_session_they_sold_in_or_closed(books, operator, supervisor, make_user):
    sam, sue = Actor.user(supervisor), Actor.user(make_user("sue", "Supervisors", is_staff=True))
    own = tills.open_till(actor=sam, opening_cash="0")
    sell(sam, "036362600")
    tills.close_till(till_id=own.pk, counted_cash="0", actor=sam)  # short by the sale
    for decide in (tills.approve_till, tills.reopen_till):
        with pytest.raises(tills.TillError, match="another supervisor"):
            decide(till_id=own.pk, actor=sam)
    assert Till.objects.get(pk=own.pk).status == TillStatus.CLOSED and not TillClose.objects.exists()
    # A supervisor who sold in an operator's session may not decide on it either.
    till = tills.open_till(actor=Actor.user(operator), opening_cash="0")
    Order.objects.filter(pk=sell(Actor.user(operator), "036362601").pk).update(created_by=supervisor)
    tills.close_till(till_id=till.pk, counted_cash="1000", actor=Actor.user(operator))
    with pytest.raises(tills.TillError, match="another supervisor"):
        tills.approve_till(till_id=till.pk, actor=sam)
    assert tills.approve_till(till_id=till.pk, actor=sue, note="checked").approved_by_id == sue.user_id
    assert tills.approve_till(till_id=own.pk, actor=sue).status == TillStatus.APPROVED


@pytest.mark.django_db
def test_a_reopen_keeps_each_earlier_close(books, operator, supervisor):
    staff, sam = Actor.user(operator), Actor.user(supervisor)
    till = tills.open_till(actor=staff, opening_cash="0")
    sell(staff, "036362600")  # 1000 expected
    tills.close_till(till_id=till.pk, counted_cash="0", note="the drawer was empty", actor=staff)
    tills.approve_till(till_id=till.pk, actor=sam, note="to be recounted")
    tills.reopen_till(till_id=till.pk, actor=sam)
    tills.close_till(till_id=till.pk, counted_cash="99999", actor=staff)
    reopened = tills.approve_till(till_id=till.pk, actor=sam)
    assert (reopened.counted_cash, reopened.expected_cash) == (Decimal(99999), Decimal(1000))
    first = TillClose.objects.get(till=till)
    assert (first.counted_cash, first.expected_cash, first.difference) == (0, 1000, -1000)
    assert (first.closed_by_id, first.approved_by_id, first.reopened_by_id) == (operator.pk, supervisor.pk,
                                                                                 supervisor.pk)
    assert first.close_note == "the drawer was empty" and first.approval_note == "to be recounted"
    assert first.closed_at < first.reopened_at <= reopened.closed_at


@pytest.mark.django_db
@pytest.mark.parametrize(("counted", "message"), [
    (None, "Enter the cash counted"), ("", "Enter the cash counted"), ("-1", "negative"), ("ten", "number"),
    ("10.001", "decimals"),
])
def test_a_bad_close_changes_nothing(books, operator, counted, message):
    staff = Actor.user(operator)
    till = tills.open_till(actor=staff, opening_cash="0")
    with pytest.raises(ValidationError, match=message):
        tills.close_till(till_id=till.pk, counted_cash=counted, actor=staff)
    assert Till.objects.get(pk=till.pk).status == TillStatus.OPEN
    assert not AuditEvent.objects.filter(action="till_close").exists()


@pytest.mark.django_db
def test_closing_twice_is_told(books, operator):
    staff = Actor.user(operator)
    till = tills.open_till(actor=staff, opening_cash="0")
    tills.close_till(till_id=till.pk, counted_cash="0", actor=staff)
    with pytest.raises(tills.TillError, match="already closed"):
        tills.close_till(till_id=till.pk, counted_cash="5", actor=staff)
    assert Till.objects.get(pk=till.pk).counted_cash == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_closes_at_once_one_wins(books, operator):
    staff = Actor.user(operator)
    till = tills.open_till(actor=staff, opening_cash="100")
    sell(staff, "036362600")
    results: list = []
    start = threading.Barrier(2)

    def close(counted: str) -> None:
        try:
            start.wait()
            results.append(tills.close_till(till_id=till.pk, counted_cash=counted, actor=staff).counted_cash)
        except tills.TillError as exc:
            results.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=close, args=(c,)) for c in ("1100", "1090")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(map(str, results))[1] == "This cash session is already closed."
    winner = Till.objects.get(pk=till.pk)
    assert winner.counted_cash in (Decimal(1100), Decimal(1090)) and winner.expected_cash == Decimal(1100)
    assert AuditEvent.objects.filter(action="till_close").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_order_sent_while_its_session_closes_is_refused(books, operator):
    staff = Actor.user(operator)
    till = tills.open_till(actor=staff, opening_cash="0")
    locked, outcome = threading.Event(), []

    def order_while_closing() -> None:
        try:
            locked.wait(10)
            sell(staff, "036362600")
            outcome.append("sold")
        except orders.OrderInputError as exc:
            outcome.append(str(exc))
        finally:
            connection.close()

    worker = threading.Thread(target=order_while_closing)
    worker.start()
    with transaction.atomic():  # the close holds the row: the order waits for it
        Till.objects.select_for_update().get(pk=till.pk)
        locked.set()
        worker.join(1)
        assert worker.is_alive()
        tills.close_till(till_id=till.pk, counted_cash="0", actor=staff)
    worker.join(30)
    assert outcome == ["Open your cash session before selling (Cash session page)."]
    assert not Order.objects.exists()
    assert Till.objects.get(pk=till.pk).expected_cash == 0


@pytest.mark.django_db
def test_a_bulk_file_needs_a_session_as_the_counter_and_the_admin_do(books, supervisor, client):
    """One rule for every way an order is made: without an open session the preview says so and
    confirming creates nothing; with one, the file's orders are sales of that session."""
    from django.urls import reverse

    from topups.services import batches

    boss = Actor.user(supervisor)
    batch = batches.preview_batch(file_name="x.csv", data=b"type,number,value\nADSL,036362600,1000\n", actor=boss)
    client.force_login(supervisor)
    page = client.get(reverse("topups:batch", args=[batch.pk])).content.decode()
    assert "Open your cash session before selling" in page
    result = batches.confirm_batch(batch_id=batch.pk, actor=boss)
    assert result.created == 0 and result.blocked == ["Open your cash session before selling (Cash session page)."]
    assert not Order.objects.exists()
    till = tills.open_till(actor=boss, opening_cash="0")
    assert batches.confirm_batch(batch_id=batch.pk, actor=boss).created == 1
    assert Order.objects.get().till_id == till.pk

