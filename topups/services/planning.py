"""What an answer of the API means for one of our orders: payload in, planned ``Change`` out.

Pure decisions, no I/O: ``change_from_topup`` turns a top-up the API returned (check-id,
check-ref, a /internet/list item, a DUPLICATED_REF lookup) into the change of our row, and
``change_not_found`` decides what a NOT_FOUND means. The sync, the send path and the admin's
close action all call them, and ``lifecycle.apply_changes`` writes what they plan. The timings
are those of the README, "How orders are followed".
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext_noop

from topups.models import Order, OrderStatus
from topups.notes import Note
from topups.oneclick import Topup, TopupStatus, mask_code
from topups.oneclick import errors as api_errors
from topups.services.lifecycle import Change

S = OrderStatus

# The first look soon after the API accepted the order (the guide: orders complete in 3–45 s),
# then every few seconds in the fast window. Looks in the fast window fall on a shared beat, so the
# orders accepted within one beat are due together and one /internet/list page answers them all.
FIRST_LOOK = timedelta(seconds=2.5)
FAST_POLL = timedelta(seconds=4)
FAST_WINDOW = timedelta(minutes=5)
SLOW_POLL_CAP = timedelta(minutes=15)
QUEUED_POLL = timedelta(hours=1)
QUEUED_LIMIT = timedelta(hours=48)
# A mobile top-up whose outcome the API does not know (UNKNOWN_ERROR): support settles it within
# 1-24 h; asked hourly, a person looks after 48 h.
UNCERTAIN_POLL = timedelta(hours=1)
UNCERTAIN_LIMIT = timedelta(hours=48)
HANDLING_LIMIT = timedelta(hours=6)
ATTENTION_POLL = timedelta(hours=6)
MAX_SEND_ATTEMPTS = 3
# A check-id NOT_FOUND this soon after the send is a read replica lagging, not an anomaly.
LOOKUP_LAG = timedelta(minutes=5)
# FULFILLED without its card code: keep asking; after this long, a person must look.
CODE_MISSING_LIMIT = timedelta(minutes=30)

API_TO_ORDER = {
    TopupStatus.PENDING: S.HANDLING,
    TopupStatus.HANDLING: S.HANDLING,
    TopupStatus.QUEUED: S.QUEUED,
    TopupStatus.FULFILLED: S.FULFILLED,
    TopupStatus.REFUNDED: S.REFUNDED,
    TopupStatus.UNKNOWN_ERROR: S.UNCERTAIN,
}
# The states an order keeps when the API's answer says nothing new (an undocumented status).
WAITING = (S.HANDLING, S.QUEUED, S.UNCERTAIN, S.ATTENTION)


def on_beat(moment: datetime) -> datetime:
    """The first beat (a multiple of FAST_POLL since the epoch) at or after ``moment``."""
    beat = FAST_POLL.total_seconds()
    return datetime.fromtimestamp(math.ceil(moment.timestamp() / beat) * beat, tz=moment.tzinfo)


def first_look(accepted_at: datetime) -> datetime:
    """The first beat at least FIRST_LOOK after the API accepted the order."""
    return on_beat(accepted_at + FIRST_LOOK)


def next_check_at(status: str, sent_at: datetime | None, now: datetime) -> datetime | None:
    """When to look at an order again: on the next beat (every 4 s) in its first 5 minutes, then
    backing off (a tenth of its age, at most 15 minutes); QUEUED hourly; never for a final order."""
    age = now - (sent_at or now)
    if status in (S.HANDLING, S.UNKNOWN):
        if age < FAST_WINDOW:
            return on_beat(now + FAST_POLL / 2)
        return now + min(age / 10, SLOW_POLL_CAP)
    if status == S.QUEUED:
        return now + QUEUED_POLL
    if status == S.UNCERTAIN:
        return now + UNCERTAIN_POLL
    if status == S.ATTENTION:
        return now + ATTENTION_POLL
    return None


def last_processing_moment(started_at: datetime) -> datetime:
    """The latest moment the API may still process a POST of ours that started at ``started_at``:
    the sending lease's end. Our client gives up on the answer long before (connect and read
    timeouts), but a request can sit in the provider's queue, or on the way, after that; by the
    lease's end its sender's task is over (``Q_TIMEOUT`` is shorter, a system check says so) and
    a request the API has not begun by then is taken as dropped. Whatever proves an attempt never
    placed reads the provider's books past this moment, never only past our give-up."""
    return started_at + timedelta(seconds=settings.ONECLICKDZ_SENDING_LEASE_SECONDS)


def resend_delay() -> timedelta:
    return timedelta(seconds=settings.ONECLICKDZ_RESEND_AFTER_SECONDS)


def may_resend(order: Order, now: datetime) -> bool:
    """A resend (same reference) only for an order the API never accepted (no top-up id), that
    it said it does not know, within MAX_SEND_ATTEMPTS, and well after the last attempt."""
    return (order.status in (S.UNKNOWN, S.ATTENTION) and not order.topup_id
            and order.send_attempts < MAX_SEND_ATTEMPTS and (order.sent_at or now) + resend_delay() <= now)


# Why the API may hold an order we have no top-up id for (``api_may_hold``), as stored codes.
MAY_HOLD_ACCEPTED = "accepted"
MAY_HOLD_DUPLICATED_REF = "duplicated_ref"
MAY_HOLD_UNCLEAR_POST = "unclear_post"
ACCEPTED_STATUSES = frozenset({S.HANDLING, S.QUEUED, S.UNCERTAIN, S.FULFILLED, S.REFUNDED})
DUPLICATED_REF = api_errors.DuplicatedRef.default_code


def api_may_hold(order: Order, history) -> str:
    """The one rule for "the API may hold this order": why it may ("" when nothing in its life says
    so). ``history``: its events as (to_status, payload) pairs, oldest first.

    - an accepted answer: a top-up id, or any move to a state only the API gives;
    - a DUPLICATED_REF answer: an earlier attempt reached the API under our ref;
    - an unclear POST: any move to UNKNOWN (a send without a clear answer, a send cut short).
    Such an order is never cancelled, refused or handed back on a NOT_FOUND alone.
    """
    if order.topup_id:
        return MAY_HOLD_ACCEPTED
    reason = ""
    for to_status, payload in history:
        if to_status in ACCEPTED_STATUSES:
            return MAY_HOLD_ACCEPTED
        if isinstance(payload, dict) and (payload.get("code") == DUPLICATED_REF or "duplicatedRef" in payload):
            reason = MAY_HOLD_DUPLICATED_REF
        elif to_status == S.UNKNOWN and not reason:
            reason = MAY_HOLD_UNCLEAR_POST
    return reason


def differences(order: Order, topup: Topup, *, strict: bool = False) -> dict[str, tuple[str, str]]:
    """What differs between our order and the top-up the API holds under its ref or id:
    {field: (ours, the API's)}. A field the answer leaves out is not compared, unless ``strict``:
    then a left-out type, plan, number or value (of those our order has) is a difference too. A
    DUPLICATED_REF answer is read strictly: the ref is taken, and only a top-up that shows it is
    ours (same line, same value) may be adopted with its code; so is any answer found by our ref
    alone (see ``change_from_topup``)."""
    found = {}
    missing = ""
    if topup.type is not None and topup.type.value != order.line_type:
        found["type"] = (order.line_type, topup.type.value)
    elif strict and topup.type is None and order.line_type:
        found["type"] = (order.line_type, missing)
    if topup.plan_code and topup.plan_code != order.plan_code:
        found["plan_code"] = (order.plan_code, topup.plan_code)
    elif strict and not topup.plan_code and order.plan_code:
        found["plan_code"] = (order.plan_code, missing)
    if topup.number and topup.number != order.number:
        found["number"] = (order.number, topup.number)
    elif strict and not topup.number:
        found["number"] = (order.number, missing)
    if topup.value is not None and topup.value != order.value:
        found["value"] = (str(order.value), str(topup.value))
    elif strict and topup.value is None and order.value:
        found["value"] = (str(order.value), missing)
    return found


def change_from_topup(order: Order, topup: Topup, now: datetime) -> Change:
    """The change a top-up returned by the API makes to our order (the one function that turns
    an API payload into our row, as dj-stripe's ``_stripe_object_to_record``).

    - Another order under our ref (type, number or value differ; for an order the API never gave
      us a top-up id for, found by its ref alone as after a DUPLICATED_REF, also when the answer
      leaves one out): ATTENTION, never adopted, its card code never stored.
    - PENDING/HANDLING → processing, QUEUED → queued, FULFILLED with its code → fulfilled (code,
      transaction number, processing time stored), REFUNDED → refunded.
    - FULFILLED without its code, or a status the docs do not list: followed as processing;
      without a code for CODE_MISSING_LIMIT → ATTENTION.
    - Processing past HANDLING_LIMIT or queued past QUEUED_LIMIT → ATTENTION; an order needing
      attention stays so until final.
    The history payload is the API's answer with the card code masked.
    """
    # Without a top-up id of ours, only the ref ties the answer to us: it must show the same line.
    found = differences(order, topup, strict=not order.topup_id)
    if found:
        return _change_for_another_order(order, topup, now, found)
    to_status = API_TO_ORDER.get(topup.status)
    # A line that delivers no card (flexy) is complete without one.
    code_missing = topup.status == TopupStatus.FULFILLED and not topup.card_code and order.line.delivers_code
    if to_status is None or code_missing:
        to_status = order.status if order.status in WAITING else S.HANDLING
    age = now - (order.sent_at or order.created_at)
    note = ""
    if code_missing and now - (topup.processed_at or order.sent_at or now) > CODE_MISSING_LIMIT:
        to_status, note = S.ATTENTION, Note(gettext_noop(
            "Fulfilled by the API but without its card code: contact OneClickDZ support."))
    elif to_status == S.QUEUED and age > QUEUED_LIMIT:
        to_status, note = S.ATTENTION, Note(gettext_noop(
            "Still queued after 48 hours: contact OneClickDZ support."))
    elif to_status == S.UNCERTAIN and age > UNCERTAIN_LIMIT:
        to_status, note = S.ATTENTION, Note(gettext_noop(
            "Outcome still uncertain after 48 hours: contact OneClickDZ support."))
    elif to_status == S.HANDLING and age > HANDLING_LIMIT:
        to_status, note = S.ATTENTION, Note(gettext_noop(
            "Still processing after 6 hours: contact OneClickDZ support."))
    elif order.status == S.ATTENTION and to_status in (S.HANDLING, S.QUEUED, S.UNCERTAIN):
        to_status = S.ATTENTION
    fields = {
        "topup_id": topup.id or order.topup_id,
        "api_status": topup.status.value[:32],
        "checks": order.checks + 1,
        "last_checked_at": now,
        "next_check_at": next_check_at(to_status, order.sent_at, now),
        "not_found_since": None,
    }
    if (own := order.line.answer_fields(order, topup, now)) is not None:
        fields.update(own[0])
        note = note or own[1]
    elif code_missing:
        if to_status != S.ATTENTION:
            fields["next_check_at"] = next_check_at(S.HANDLING, order.sent_at, now)
    elif topup.status == TopupStatus.FULFILLED:
        fields.update(card_code=topup.card_code, num_trans=topup.num_trans, processed_at=topup.processed_at)
        note = note or Note(gettext_noop("Card delivered"))
    elif topup.status == TopupStatus.REFUNDED:
        note = note or Note(gettext_noop("Failed at Algérie Télécom; the API refunded the cost"))
    elif topup.status == TopupStatus.QUEUED and not note:
        note = Note(gettext_noop("Queued by Algérie Télécom: processed within 12–48 h, not a failure"))
    return Change(order.pk, order.status, to_status, fields, note, topup_payload(topup), order.send_attempts)


def cost_from_api(order: Order, debited) -> dict:
    """The fields that make ``debited`` (what the API says it took for ``order``: a mobile answer's
    ``balance_amount`` or its ledger debit) the order's cost. The cost is the API's figure whenever
    it gives one; once confirmed, a different figure changes nothing here (reconciliation flags it).
    A sale priced below that cost shows as such on the order and in the books (``sold_below_cost``)."""
    if debited is None or order.cost_confirmed:
        return {}
    return {"cost": debited, "cost_confirmed": True}


def _change_for_another_order(order: Order, topup: Topup, now: datetime, found: dict) -> Change:
    """The API holds another order under our ref (another tool on the account used it): never
    adopt it, never show its code. Our order itself was never accepted under that ref."""
    fields = {"api_status": topup.status.value[:32], "checks": order.checks + 1, "last_checked_at": now,
              "next_check_at": now + ATTENTION_POLL}
    note = Note(gettext_noop(
        "The API holds a different order under this reference (%(fields)s): not ours, no code is shown."),
        fields=", ".join(sorted(found)))
    payload = {"ours": {"type": order.line_type, "plan_code": order.plan_code, "number": order.number,
                        "value": str(order.value)},
               "api": topup_payload(topup), "differences": found}
    return Change(order.pk, order.status, S.ATTENTION, fields, note, payload, order.send_attempts)


def change_not_found(order: Order, now: datetime) -> Change:
    """The API does not know the order (its top-up id or reference): wait for a lagging read
    replica, flag a top-up id the API forgot, give up after MAX_SEND_ATTEMPTS, or wait until a
    resend with the same reference is safe (the sync then enqueues it, see ``may_resend``)."""
    fields = {"checks": order.checks + 1, "last_checked_at": now, "not_found_since": order.not_found_since or now}
    if order.topup_id and now - (order.sent_at or now) < LOOKUP_LAG:
        # The API accepted it moments ago: its read side has not caught up yet. Ask again soon.
        fields["next_check_at"] = now + FAST_POLL
        return Change(order.pk, order.status, order.status, fields, attempt=order.send_attempts)
    if order.topup_id:
        fields["next_check_at"] = now + ATTENTION_POLL
        note = Note(gettext_noop("The API does not know this top-up id."))
        return Change(order.pk, order.status, S.ATTENTION, fields, note,
                      attempt=order.send_attempts)
    if order.send_attempts >= MAX_SEND_ATTEMPTS:
        fields["next_check_at"] = now + ATTENTION_POLL
        note = Note(gettext_noop("Not found at the API after %(n)d attempts."), n=order.send_attempts)
        return Change(order.pk, order.status, S.ATTENTION, fields, note, attempt=order.send_attempts)
    fields["next_check_at"] = max(now + FAST_POLL, (order.sent_at or now) + resend_delay())
    return Change(order.pk, order.status, order.status, fields, attempt=order.send_attempts)


# How long an order may stay in a status before a person must look (see ``change_from_topup``).
AGE_LIMITS = {S.HANDLING: HANDLING_LIMIT, S.UNKNOWN: HANDLING_LIMIT, S.QUEUED: QUEUED_LIMIT,
              S.UNCERTAIN: UNCERTAIN_LIMIT}


def change_unreadable(order: Order, now: datetime, retry_at: datetime, problem: dict | None = None) -> Change:
    """An answer about the order could not be read (``problem``), or it was not asked this cycle:
    ask again at ``retry_at``. The age limits still apply to an unreadable answer: past the limit
    of the order's status, the order needs attention, the unreadable answer kept in its history
    for the supervisor."""
    limit = AGE_LIMITS.get(order.status)
    age = now - (order.sent_at or order.created_at)
    if problem is not None and limit is not None and age > limit:
        note = Note(gettext_noop("The API's answer about this order could not be read for %(hours)d hours: "
                                 "contact OneClickDZ support."), hours=int(age.total_seconds() // 3600))
        fields = {"checks": order.checks + 1, "last_checked_at": now, "next_check_at": now + ATTENTION_POLL}
        return Change(order.pk, order.status, S.ATTENTION, fields, note, {"unreadable": problem},
                      order.send_attempts)
    return Change(order.pk, order.status, order.status, {"next_check_at": retry_at}, attempt=order.send_attempts)


# History payloads ---------------------------------------------------------------------------------


def topup_payload(topup: Topup) -> dict:
    """The API's answer for the history, with the card code masked."""
    payload = dict(topup.raw)
    if payload.get("card_code"):
        payload["card_code"] = mask_code(str(payload["card_code"]))
    return payload


def error_payload(exc: Exception) -> dict:
    """An API error for the history: code, message, details, HTTP status, request id."""
    if isinstance(exc, api_errors.OneClickError):
        details = exc.details
        raw = details.get("raw") if isinstance(details, dict) else None
        if isinstance(raw, dict) and raw.get("card_code"):  # an unreadable answer may still carry a code
            details = {**details, "raw": {**raw, "card_code": mask_code(str(raw["card_code"]))}}
        return {"code": exc.code, "message": exc.message, "details": details, "httpStatus": exc.http_status,
                "requestId": exc.request_id}
    return {"error": type(exc).__name__}
