"""The one door every order status change goes through, creation and the claim included.

As in django-oscar's ``set_status`` with its pipeline: the allowed moves are the data in
``topups.models.TRANSITIONS``, an illegal move raises ``IllegalTransition`` (the same everywhere,
before anything is written), and every change writes an ``OrderEvent`` (from, to, who or which
task, note, the API payload with the card code masked).

A change is planned first (``Change``: the status and send attempt it was decided under, the
target status, the fields to write) and applied here, under the row lock: a change whose order
moved meanwhile (another status, or claimed again for a resend) is skipped, never forced. The
callers: ``orders`` (create, cancel, close), ``sending`` (the claim and the outcome of a send),
``sync`` (what the API said, see ``planning.change_from_topup``), ``order_edits`` and ``batches``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from topups import notes
from topups.models import FINAL_STATUSES, TRANSITIONS, ApiAccount, Order, OrderEvent, OrderStatus
from topups.services.actors import Actor

log = logging.getLogger("topups.orders")
S = OrderStatus
# The local balance follows the API's books between two fetches (see ``_balance_delta``).
NOT_ACCEPTED = frozenset({S.NEW, S.SENDING, S.UNKNOWN})
ACCEPTED = frozenset({S.HANDLING, S.QUEUED, S.UNCERTAIN, S.FULFILLED})


class IllegalTransition(Exception):
    """A status move that TRANSITIONS does not allow: a programming error, never skipped quietly."""

    def __init__(self, order: str | int, from_status: str, to_status: str) -> None:
        self.order, self.from_status, self.to_status = order, from_status, to_status
        super().__init__(f"order {order}: {from_status} → {to_status} is not allowed")


@dataclass
class Change:
    """A planned update of one order.

    Applied only if the order is still in ``expected`` status (``None``: whatever its status, for
    an edit that moves nothing) and, when ``attempt`` is given, still in that send attempt: a
    sender outliving its lease must not overwrite a later resend. ``to_status`` ``None`` or equal
    to ``expected`` moves nothing; an event is written for a move, or for ``record`` (an edit).
    """

    order_id: int
    expected: str | None
    to_status: str | None = None
    fields: dict = field(default_factory=dict)
    note: str = ""
    payload: dict | None = None
    attempt: int | None = None
    record: bool = False

    @property
    def moves(self) -> bool:
        return self.to_status is not None and self.to_status != self.expected

    def check(self, ref: str | int | None = None) -> None:
        """Raise IllegalTransition unless TRANSITIONS allows this move."""
        if self.moves and (self.expected is None or self.to_status not in TRANSITIONS[self.expected]):
            raise IllegalTransition(ref or self.order_id, self.expected or "?", self.to_status)


def apply_changes(changes: list[Change], actor: Actor, *, locked: dict[int, Order] | None = None
                  ) -> dict[int, Order]:
    """Apply planned changes in one transaction with a constant number of queries: lock and re-read
    the rows, skip any that moved meanwhile, one bulk UPDATE of the columns changed, one INSERT of
    the events. Returns the orders changed, by id, as written.

    Raises IllegalTransition, writing nothing, if any change is a move TRANSITIONS forbids.
    ``locked``: the rows, already locked (``select_for_update``) by the caller's transaction, for
    a caller that decides under the lock (the claim, an edit); they are updated in place.
    """
    for change in changes:
        change.check()
    if not changes:
        return {}
    now = timezone.now()
    applied: dict[int, Order] = {}
    events, names = [], {"updated_at"}
    with transaction.atomic(savepoint=False):  # inside a caller's transaction, no savepoint to pay for
        rows = locked if locked is not None else Order.objects.select_for_update().in_bulk(
            [c.order_id for c in changes])
        for change in changes:
            order = rows.get(change.order_id)
            if order is None or (change.expected is not None and order.status != change.expected):
                continue
            if change.attempt is not None and order.send_attempts != change.attempt:
                log.warning("order %s: dropped a change decided under attempt %s (now %s)", order.ref,
                            change.attempt, order.send_attempts)
                continue
            for name, value in change.fields.items():
                setattr(order, name, value)
                names.add(name)
            order.updated_at = now
            if change.moves or change.record:
                events.append(_event(order, change, actor, now))
            if change.moves:
                order.status = change.to_status
                names.add("status")
            applied[order.pk] = order
        if applied:
            Order.objects.bulk_update(applied.values(), sorted(names), batch_size=500)
        OrderEvent.objects.bulk_create(events, batch_size=500)
        _follow_balance(sum((_balance_delta(e.from_status, e.to_status, applied[e.order_id]) for e in events),
                            Decimal(0)))
        _book_hand_backs([(applied[e.order_id], amount) for e in events
                          if (amount := _hand_back(applied[e.order_id], e.from_status, e.to_status))], actor)
        _notify_when_settled([e.order_id for e in events if _settles(e.from_status, e.to_status)])
    return applied


def move(order: Order, to_status: str, actor: Actor, *, note: str = "", payload: dict | None = None,
         **fields) -> bool:
    """Move one order from the status and send attempt it is in, writing ``fields`` too; the
    instance is updated when the move is applied. False if the order moved meanwhile; raises
    IllegalTransition for a move TRANSITIONS forbids.

    The same rule as ``apply_changes`` for one row the caller holds: a conditional UPDATE (still
    in this status and attempt) is the lock and the check at once."""
    change = Change(order.pk, order.status, to_status, fields, note, payload, order.send_attempts)
    change.check(order.ref)
    now = timezone.now()
    values = {**fields, "updated_at": now, "status": change.to_status}
    with transaction.atomic(savepoint=False):
        if not Order.objects.filter(pk=order.pk, status=order.status, send_attempts=order.send_attempts
                                    ).update(**values):
            log.warning("order %s: moved meanwhile, change to %s dropped", order.ref, to_status)
            return False
        if change.moves:
            _event(order, change, actor, now).save()
        for name, value in values.items():
            setattr(order, name, value)
        _follow_balance(_balance_delta(change.expected, change.to_status, order))
        if amount := _hand_back(order, change.expected, change.to_status):
            _book_hand_backs([(order, amount)], actor)
        if _settles(change.expected, change.to_status):
            _notify_when_settled([order.pk])
    return True


def _balance_delta(from_status: str, to_status: str, order: Order) -> Decimal:
    """What a move does to the account's balance at the API: the API debits an order's cost when
    it accepts it, credits it back when it refunds it, and credits the undelivered part of one it
    delivers in part (``ProductLine.expected_refund`` on the delivered order)."""
    cost = order.cost if order.cost is not None else order.value
    if from_status in ACCEPTED and to_status in (S.REFUNDED, S.TAKEN_BACK):  # the provider credits it back
        return cost
    delta = -cost if from_status in NOT_ACCEPTED and to_status in ACCEPTED else Decimal(0)
    if to_status == S.FULFILLED and from_status != S.FULFILLED:
        # Delivered in part (a gift-card order partly filled): the provider refunds the rest at once.
        refund, shown = order.line.expected_refund(order, order.cost)
        if shown and refund:
            delta += refund
    return delta


def _hand_back(order: Order, from_status: str | None, to_status: str | None) -> Decimal | None:
    """The money a move gives back to the customer, as the order's line says: the whole price on a
    move into the books' HANDED_BACK_STATUSES, or a part (a gift-card order partly filled)."""
    if from_status == to_status:
        return None
    return order.line.hand_back_amount(order, from_status, to_status)


def _book_hand_backs(orders: list[tuple[Order, Decimal]], actor: Actor) -> None:
    """Book the money these orders hand back (each with its amount) in the cash session open now,
    in the move's transaction (``tills.book_hand_backs``): every way an order is handed back goes
    through here."""
    if orders:
        from topups.services import tills  # tills reads the books, which read the orders: import when used

        tills.book_hand_backs(orders, actor)


def _settles(from_status: str | None, to_status: str | None) -> bool:
    """A move that makes an order final: the moment a late order's customer is told."""
    return to_status in FINAL_STATUSES and from_status not in FINAL_STATUSES


def _notify_when_settled(order_ids: list[int]) -> None:
    """Once the move's transaction commits (never for one rolled back), queue the notices of these
    orders (``notices.on_settled``: only those whose customer left a contact are told). A failure
    there is logged and never undoes the move (``robust``)."""
    if order_ids:
        from topups.services import notices  # notices read claims, which write through this door

        transaction.on_commit(lambda: notices.on_settled(order_ids), robust=True)


def _follow_balance(delta: Decimal) -> None:
    """Keep the cached balance in step with the API's books between two fetches (the balance
    schedule fetches the API's figure, which corrects any drift), in the caller's transaction."""
    if delta:
        from topups.services.account import current_fingerprint

        ApiAccount.objects.filter(key_fingerprint=current_fingerprint(), balance__isnull=False).update(
            balance=F("balance") + delta)


def _event(order: Order, change: Change, actor: Actor, now) -> OrderEvent:
    """The history row of one change (logged: one line per status change, with the ref)."""
    if change.moves:
        log.info("order %s %s → %s by %s", order.ref, order.status, change.to_status, actor.label)
    return OrderEvent(order_id=order.pk, from_status=order.status, to_status=change.to_status or order.status,
                      actor_id=actor.user_id, actor_label=actor.label, **notes.stored(change.note),
                      payload=change.payload, created_at=now)


def create_orders(orders: list[Order], actor: Actor, *, note: str) -> list[Order]:
    """Insert new orders (status NEW) with their first event, in one transaction: two INSERTs
    for any number of orders. Raises IntegrityError when a reference is taken."""
    for order in orders:
        if order.status != OrderStatus.NEW:  # an order is born NEW; anything else is a move
            raise IllegalTransition(order.ref, "", order.status)
    with transaction.atomic():
        Order.objects.bulk_create(orders, batch_size=500)
        if any(o.pk is None for o in orders):  # a backend that does not return ids
            ids = dict(Order.objects.filter(ref__in=[o.ref for o in orders]).values_list("ref", "pk"))
            for order in orders:
                order.pk = ids[order.ref]
        OrderEvent.objects.bulk_create(
            [OrderEvent(order=o, from_status="", to_status=o.status, actor_id=actor.user_id,
                        actor_label=actor.label, **notes.stored(note), created_at=o.created_at) for o in orders],
            batch_size=500,
        )
    for order in orders:
        log.info("order %s created by %s", order.ref, actor.label)
    return orders
