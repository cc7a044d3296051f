"""What an answer about a gift-card order means for our row: checkOrder or a list item (a
``GiftOrder``), or what ``recovery`` concluded (``Ambiguous``, ``Waiting``), in; a planned
``lifecycle.Change`` out. Pure: no I/O.

HANDLING → processing; FULFILLED → fulfilled with every card; PARTIALLY_FILLED → fulfilled with the
cards delivered (``api_status`` says partial, and the status door books the undelivered part as
money handed back: ``GiftCardLine.hand_back_amount``); REFUNDED → refunded (all handed back)."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext_noop

from topups.lines.giftcards import cards as gift_cards
from topups.lines.giftcards.catalog import split_plan
from topups.lines.giftcards.recovery import Ambiguous, Waiting
from topups.models import Order, OrderStatus
from topups.notes import Note
from topups.oneclick import GiftOrder, GiftOrderStatus
from topups.services import planning
from topups.services.lifecycle import Change

S = OrderStatus
TO_ORDER = {
    GiftOrderStatus.HANDLING: S.HANDLING,
    GiftOrderStatus.FULFILLED: S.FULFILLED,
    GiftOrderStatus.PARTIALLY_FILLED: S.FULFILLED,
    GiftOrderStatus.REFUNDED: S.REFUNDED,
}
WAITING = (S.HANDLING, S.UNKNOWN, S.ATTENTION)


def change_from_answer(order: Order, answer, now: datetime) -> Change:
    if isinstance(answer, Ambiguous):
        return _ambiguous(order, answer, now)
    if isinstance(answer, Waiting):
        return _waiting(order, answer, now)
    return _from_gift_order(order, answer, now)


def _checked(order: Order, now: datetime, **fields) -> dict:
    return {"checks": order.checks + 1, "last_checked_at": now, **fields}


def _ambiguous(order: Order, answer: Ambiguous, now: datetime) -> Change:
    ids = [c.id for c in answer.candidates]
    note = Note(gettext_noop("Several provider orders could be this one (%(ids)s): none was adopted; choose with "
                             "OneClickDZ support."), ids=", ".join(ids))
    payload = {"candidates": [_payload(c) for c in answer.candidates], "reason": answer.reason}
    return Change(order.pk, order.status, S.ATTENTION, _checked(order, now, next_check_at=now + planning.ATTENTION_POLL),
                  note, payload, order.send_attempts, record=order.status == S.ATTENTION)


def _waiting(order: Order, answer: Waiting, now: datetime) -> Change:
    age = now - (order.sent_at or order.created_at)
    if age > planning.HANDLING_LIMIT:
        note = Note(gettext_noop("Still not found in the provider's list or ledger after 6 hours: contact "
                                 "OneClickDZ support."))
        return Change(order.pk, order.status, S.ATTENTION,
                      _checked(order, now, next_check_at=now + planning.ATTENTION_POLL), note,
                      {"reason": answer.reason}, order.send_attempts)
    return Change(order.pk, order.status, order.status,
                  _checked(order, now, next_check_at=planning.next_check_at(S.UNKNOWN, order.sent_at, now)),
                  attempt=order.send_attempts)


def _differences(order: Order, found: GiftOrder) -> dict:
    product_id, type_id = split_plan(order.plan_code)
    quantity = gift_cards.quantity_of(order)
    differ = {}
    if found.product_id and found.product_id != product_id:
        differ["product"] = (product_id, found.product_id)
    if found.type_id and found.type_id != type_id:
        differ["type"] = (type_id, found.type_id)
    if found.quantity is not None and found.quantity != quantity:
        differ["quantity"] = (str(quantity), str(found.quantity))
    if order.topup_id and found.id and found.id != order.topup_id:
        differ["id"] = (order.topup_id, found.id)
    return differ


def _from_gift_order(order: Order, found: GiftOrder, now: datetime) -> Change:
    differ = _differences(order, found)
    if differ:
        note = Note(gettext_noop("The provider's order differs from ours (%(fields)s): not adopted, no card is "
                                 "shown."), fields=", ".join(sorted(differ)))
        return Change(order.pk, order.status, S.ATTENTION,
                      _checked(order, now, next_check_at=now + planning.ATTENTION_POLL), note,
                      {"api": _payload(found), "differences": differ}, order.send_attempts)
    to_status = TO_ORDER.get(found.status)
    delivered = found.delivered
    if to_status is None or (to_status == S.FULFILLED and (not found.cards or len(found.cards) < delivered)):
        to_status = order.status if order.status in WAITING and order.status != S.UNKNOWN else S.HANDLING
    age = now - (order.sent_at or order.created_at)
    note = ""
    if to_status == S.HANDLING and age > planning.HANDLING_LIMIT:
        to_status, note = S.ATTENTION, Note(gettext_noop("Still processing after 6 hours: contact OneClickDZ support."))
    elif order.status == S.ATTENTION and to_status == S.HANDLING:
        to_status = S.ATTENTION
    fields = _checked(order, now, topup_id=found.id or order.topup_id, api_status=found.status.value[:32],
                      next_check_at=planning.next_check_at(to_status, order.sent_at, now), not_found_since=None)
    if to_status == S.FULFILLED:
        fields.update(card_code=gift_cards.as_text(found.cards), processed_at=now)
        if found.status == GiftOrderStatus.PARTIALLY_FILLED:
            note = Note(gettext_noop("Partly filled: %(delivered)d of %(quantity)d cards delivered; the API refunded "
                                     "the others"), delivered=len(found.cards), quantity=found.quantity or 0)
        else:
            note = Note(gettext_noop("%(count)d card(s) delivered"), count=len(found.cards))
    elif to_status == S.REFUNDED:
        note = Note(gettext_noop("No card delivered; the API refunded the order"))
    elif not order.topup_id and not note:
        note = Note(gettext_noop("Found in the provider's list after the answer was lost: adopted (order %(id)s)"),
                    id=found.id)
    payload = _payload(found)
    if not order.topup_id:
        payload["adopted"] = True
    return Change(order.pk, order.status, to_status, fields, note, payload, order.send_attempts,
                  record=not order.topup_id and to_status == order.status)


def _payload(found) -> dict:
    raw = getattr(found, "raw", None) or {"_id": found.id, "status": found.status.value}
    return gift_cards.masked_payload(raw)
