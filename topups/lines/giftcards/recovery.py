"""Finding a gift-card order again after a placeOrder without a clear answer.

placeOrder takes no reference of ours (English and French reference) and there is no check-by-ref,
so the order is never placed again blindly. ``recover`` walks ``/gift-cards/list`` over the
attempt's window and the provider's ledger (its ``ORDER`` rows), then asks ``matching.decide``:

- ADOPT: the one unclaimed provider order of the same product, type and quantity is ours;
- AMBIGUOUS: several could be: a person chooses (``Ambiguous``, the candidates in the history);
- WAIT: the list may still lag, or a debit is not explained yet (``Waiting``);
- NEVER_PLACED: nothing listed past the lag, and the ledger, read past the attempt, holds no
  unexplained debit of that amount: the proof is written in the order's history, and the client's
  ``NotFound`` lets the shared sync send it again once (``planning.may_resend``).

The attempt's window: from ``sent_at`` (stored by the claim before the POST) to the sending lease's
end (the latest the API may still place it, ``planning.last_processing_moment``; not when our client
gave up on the answer, since a request held up on its way is placed later), widened by
``GIFT_CLOCK_SKEW_SECONDS`` on both sides (the provider's clock is not ours). With
``GIFT_SEND_REF`` (the API accepts our ref), a listed order carrying our ref is ours outright.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop

from topups.lines.giftcards import matching
from topups.lines.giftcards.cards import quantity_of
from topups.lines.giftcards.catalog import split_plan
from topups.models import Order
from topups.notes import Note
from topups.oneclick import errors as api_errors

log = logging.getLogger("topups.orders")


@dataclass(frozen=True)
class Ambiguous:
    """Several provider orders could be ours: none is adopted."""

    candidates: tuple
    reason: str


@dataclass(frozen=True)
class Waiting:
    """Not known yet either way: asked again later."""

    reason: str


def attempt_of(order: Order) -> matching.Attempt:
    """The last attempt: from its claim (``sent_at``, stored before the POST) to the latest moment
    the API may still place it (``planning.last_processing_moment``, the sending lease's end), not
    the moment our client gave up on the answer: a request held up on its way, or queued at the
    provider, is placed after that, and proving such an order never placed would buy it twice."""
    from topups.services import planning

    product_id, type_id = split_plan(order.plan_code)
    started = order.sent_at or order.created_at
    return matching.Attempt(product_id=product_id, type_id=type_id, quantity=quantity_of(order), started_at=started,
                            ended_at=planning.last_processing_moment(started), expected_debit=order.cost)


def recover(line, client, order: Order, now: datetime):
    """The provider order to adopt (a ``GiftOrder``), ``Ambiguous`` or ``Waiting``; raises
    ``NotFound`` once the order is proven never placed (its proof written in its history)."""
    attempt = attempt_of(order)
    skew = timedelta(seconds=settings.GIFT_CLOCK_SKEW_SECONDS)
    start, end = attempt.window(skew)
    listed = list(client.iter_gift_orders(from_=start, to=end))
    if settings.GIFT_SEND_REF:
        ours = [item for item in listed if item.ref and item.ref == order.ref]
        if ours:
            return ours[0]
    claimed = set(Order.objects.filter(service=line.code, topup_id__in=[item.id for item in listed if item.id])
                  .exclude(pk=order.pk).values_list("topup_id", flat=True))
    # The ledger is complete up to the moment it is read (the API writes the ORDER row as it places
    # the order): that moment, on our clock, is how far it is synced.
    read_at = timezone.now()
    ledger_rows = [row for row in client.iter_transactions(from_=start, to=max(read_at, end) + skew)
                   if row.type == matching.ORDER_DEBIT]
    decision = matching.decide(attempt, listed=listed, claimed=claimed, ledger_rows=ledger_rows,
                               ledger_synced_to=read_at, lag=timedelta(seconds=settings.GIFT_LIST_LAG_SECONDS),
                               now=now, skew=skew)
    log.info("gift order %s recovery: %s (%s)", order.ref, decision.verdict, decision.reason)
    if decision.verdict is matching.Verdict.ADOPT:
        return decision.order
    if decision.verdict is matching.Verdict.AMBIGUOUS:
        return Ambiguous(decision.candidates, decision.reason)
    if decision.verdict is matching.Verdict.WAIT:
        return Waiting(decision.reason)
    _record_proof(order, attempt, start, end)
    raise api_errors.NotFound("Gift order never placed: not in the list, no unexplained ORDER debit",
                              details={"ref": order.ref})


PROOF = "never_placed"


def proven_never_placed(order: Order) -> bool:
    """Whether the order's last attempt (claimed at ``sent_at``) is proven never placed: a proof
    in its history written since that claim."""
    from topups.models import OrderEvent

    since = order.sent_at or order.created_at
    return OrderEvent.objects.filter(order_id=order.pk, payload__proof=PROOF, created_at__gte=since).exists()


def _record_proof(order: Order, attempt: matching.Attempt, start: datetime, end: datetime) -> None:
    """Write why the order is taken as never placed in its history (no status move), through the
    status door."""
    from topups.services import lifecycle
    from topups.services.actors import SYNC

    note = Note(gettext_noop("Not placed: the provider's list and ledger show no such order between %(start)s "
                             "and %(end)s; it may be sent again."), start=start.isoformat(timespec="seconds"),
                end=end.isoformat(timespec="seconds"))
    payload = {"proof": PROOF, "window": [start.isoformat(), end.isoformat()],
               "product": attempt.product_id, "type": attempt.type_id, "quantity": attempt.quantity,
               "expected_debit": str(attempt.expected_debit) if attempt.expected_debit is not None else None}
    lifecycle.apply_changes([lifecycle.Change(order.pk, order.status, None, {}, note, payload,
                                              order.send_attempts, record=True)], SYNC)


def find_by_ref(client, ref: str, now: datetime):
    """The listed order carrying our ref (only where the API accepts one, ``GIFT_SEND_REF``): the
    last day's list walked. Raises NotFound."""
    for item in client.iter_gift_orders(from_=now - timedelta(days=1), to=now + matching.DEFAULT_SKEW):
        if item.ref == ref:
            return item
    raise api_errors.NotFound(f"No gift order with reference {ref!r}", details={"ref": ref})
