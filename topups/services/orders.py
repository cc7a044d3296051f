"""How an order is created, sent exactly once, and followed until it is final.

The one code path used by the dashboard forms, the admin actions and the django-q2 tasks.

Money safety rests on four rules:

1. The reference is generated and stored before anything is sent.
2. An order is claimed atomically (row lock + conditional UPDATE) before it is sent, so two
   workers or two clicks cannot both send it.
3. After an ambiguous failure the order is never POSTed again blindly: it becomes UNKNOWN and is
   looked up by its reference. Only when the API says NOT_FOUND, well after the failed attempt, is
   it sent again, with the same reference, which DUPLICATED_REF protects.
4. Status changes go through ``_apply``, which checks ``TRANSITIONS`` under a row lock and writes
   an OrderEvent for every change.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from topups.models import (
    TRACKED_STATUSES,
    TRANSITIONS,
    Order,
    OrderEvent,
    OrderStatus,
    Product,
)
from topups.numbers import normalise_number
from topups.oneclick import Topup, TopupStatus, mask_code
from topups.oneclick import errors as api_errors
from topups.services import audit
from topups.services.account import get_client
from topups.services.actors import SYNC, Actor

log = logging.getLogger("topups.orders")
S = OrderStatus

# Timings of the status sync (see README, "How orders are followed").
FAST_POLL = timedelta(seconds=5)
FAST_WINDOW = timedelta(minutes=5)
SLOW_POLL_CAP = timedelta(minutes=15)
QUEUED_POLL = timedelta(hours=1)
QUEUED_LIMIT = timedelta(hours=48)
HANDLING_LIMIT = timedelta(hours=6)
ATTENTION_POLL = timedelta(hours=6)
MAX_SEND_ATTEMPTS = 3
# Orders due at once above which one /internet/list walk is cheaper than a check-id per order.
LIST_THRESHOLD = 5
LIST_PAGE_SIZE = 100
MAX_LIST_PAGES = 40
MAX_SINGLE_CHECKS = 60
# A check-id NOT_FOUND this soon after the send is a read replica lagging, not an anomaly.
LOOKUP_LAG = timedelta(minutes=5)
# FULFILLED without its card code: keep asking; after this long, a person must look.
CODE_MISSING_LIMIT = timedelta(minutes=30)

_API_TO_ORDER = {
    TopupStatus.PENDING: S.HANDLING,
    TopupStatus.HANDLING: S.HANDLING,
    TopupStatus.QUEUED: S.QUEUED,
    TopupStatus.FULFILLED: S.FULFILLED,
    TopupStatus.REFUNDED: S.REFUNDED,
}


class IllegalTransition(Exception):
    """A status move that TRANSITIONS does not allow."""

    def __init__(self, order: Order, to_status: str) -> None:
        self.order, self.to_status = order, to_status
        super().__init__(f"order {order.ref}: {order.status} → {to_status} is not allowed")


class OrderInputError(ValueError):
    """An order that cannot be created as asked; the message is for staff."""


# Creating -------------------------------------------------------------------------------------


def create_order(
    *,
    line_type: str,
    number: str,
    value: Decimal,
    actor: Actor,
    ref: str | None = None,
    note: str = "",
) -> tuple[Order, bool]:
    """Create an order (not sent yet) and return it with ``created``.

    Passing the ``ref`` the form was rendered with makes the call idempotent: a double click or
    a resubmitted form returns the order the first request created instead of a second one.
    """
    number = normalise_number(line_type, number)
    product = Product.objects.filter(line_type=line_type, value=value).first()
    if ref:
        existing = Order.objects.filter(ref=ref).first()
        if existing is not None:
            if (existing.line_type, existing.number, existing.value) != (line_type, number, Decimal(value)):
                raise OrderInputError(_("This reference is already used by another order."))
            return existing, False
    order = Order(
        line_type=line_type,
        number=number,
        value=value,
        cost=product.cost if product else None,
        created_by_id=actor.user_id,
        note=note,
    )
    if ref:
        order.ref = ref
    try:
        with transaction.atomic():
            order.save()
            OrderEvent.objects.create(
                order=order, from_status="", to_status=S.NEW, actor_id=actor.user_id, actor_label=actor.label,
                note=_("Order created"),
            )
    except IntegrityError:
        if not ref:
            raise
        # Two submissions of the same form at the same instant: the other one won.
        return create_order(line_type=line_type, number=number, value=value, actor=actor, ref=ref, note=note)
    log.info("order %s created by %s", order.ref, actor.label)
    return order, True


# Sending --------------------------------------------------------------------------------------


@dataclass
class SendRequestReport:
    queued: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def request_send(orders, *, actor: Actor) -> SendRequestReport:
    """Mark NEW orders as to be sent and enqueue their sending; others are reported, untouched.

    The caller waits for no API call: one UPDATE, and a few enqueued tasks (orders are sent in
    chunks, so 1,000 orders are a few dozen tasks spread over the workers).
    """
    report = SendRequestReport()
    now = timezone.now()
    sendable = []
    for order_id, ref, status in orders.values_list("pk", "ref", "status"):
        if status == S.NEW:
            sendable.append(order_id)
            report.queued.append(ref)
        else:
            report.skipped.append((ref, status))
    if sendable:
        Order.objects.filter(pk__in=sendable, status=S.NEW).update(
            send_requested_at=now, next_check_at=now + timedelta(minutes=2), updated_at=now
        )
        _enqueue_sends(sendable, actor)
        audit.record(actor=actor, action="send", target=_refs_target(report.queued),
                     detail={"count": len(report.queued), "refs": report.queued[:100]})
    return report


def _refs_target(refs: list[str]) -> str:
    return refs[0] if len(refs) == 1 else f"{len(refs)} orders"


def enqueue_sends(order_ids: list[int], actor: Actor) -> None:
    """Hand these orders (NEW, send requested) to send tasks, in chunks."""
    _enqueue_sends(order_ids, actor)


def _enqueue_sends(order_ids: list[int], actor: Actor) -> None:
    from django_q.tasks import async_task

    workers = max(int(settings.Q_CLUSTER.get("workers", 4)), 1)
    chunk = max(1, min(50, math.ceil(len(order_ids) / (workers * 2))))
    for start in range(0, len(order_ids), chunk):
        async_task(
            "topups.tasks.send_orders", order_ids[start : start + chunk], *actor.to_task_args(),
            task_name=f"send {len(order_ids[start : start + chunk])} orders",
        )


@dataclass(frozen=True)
class SendReport:
    ref: str
    outcome: str  # sent | refused | unknown | retry | not_claimed | adopted
    status: str
    message: str = ""


def call_seconds() -> float:
    """The longest one API call of the send path can take (one try: connect + read timeout)."""
    return settings.ONECLICKDZ_CONNECT_TIMEOUT + settings.ONECLICKDZ_READ_TIMEOUT


def worst_case_send_seconds() -> float:
    """The longest one send can take: the number check and the POST, one try each, plus a little
    for the database. (Looking up a DUPLICATED_REF is done inline only when time is left.)"""
    return 2 * call_seconds() + 2.0


def send_order(*, order_id: int, actor: Actor, deadline: float | None = None) -> SendReport:
    """Send one order to the API, at most once.

    Claims the order (NEW, or UNKNOWN/ATTENTION for a resend after the API said NOT_FOUND),
    checks the catalog and the number on a first send, POSTs with the stored reference, and
    records what the API said. Returns what happened; never raises for an API problem.
    ``deadline`` (``time.monotonic()``) is when the calling task must be done.
    """
    claimed = _claim_for_sending(order_id, actor)
    if claimed is None:
        order = Order.objects.filter(pk=order_id).only("ref", "status").first()
        ref, status = (order.ref, order.status) if order else (str(order_id), "")
        return SendReport(ref, "not_claimed", status, _("Not sent: the order is not waiting to be sent."))
    order, first_send = claimed
    client = get_client()
    if first_send:
        refusal = _pre_send_checks(order, client, actor)
        if refusal is not None:
            return refusal
    try:
        result = client.send_topup(line_type=order.line_type, number=order.number, value=order.value, ref=order.ref)
    except api_errors.DuplicatedRef as exc:
        # Our ref is already known: an earlier attempt did reach the API. Adopt that order.
        if deadline is not None and time.monotonic() + call_seconds() > deadline:
            return _mark_unknown(order, actor, exc)  # no time left to look it up: the sync will
        return _adopt_by_ref(order, actor, note=str(exc))
    except (*api_errors.ORDER_REFUSALS, api_errors.InvalidRequest) as exc:
        # InvalidRequest: the client refused the order before anything left the machine.
        if not first_send:
            return _refused_on_resend(order, actor, exc)
        return _refuse(order, actor, exc)
    except (api_errors.TransportError, api_errors.RateLimited, api_errors.ConfigurationError,
            api_errors.AuthError) as exc:
        # Certainly not processed by the API: back to wait, tried again later.
        return _not_sent(order, actor, exc, first_send=first_send)
    except Exception as exc:  # OutcomeUnknown, or anything unexpected after the POST left
        return _mark_unknown(order, actor, exc)
    now = timezone.now()
    _apply_one(order, S.HANDLING, actor, note=_("Accepted by the API"),
               payload={"topupId": result.topup_id, "topupRef": result.topup_ref},
               topup_id=result.topup_id, api_status=TopupStatus.HANDLING.value, next_check_at=now + FAST_POLL)
    log.info("order %s sent, topup id %s", order.ref, result.topup_id)
    return SendReport(order.ref, "sent", S.HANDLING)


def _claim_for_sending(order_id: int, actor: Actor) -> tuple[Order, bool] | None:
    """Atomically move the order to SENDING. Returns (order, first_send) or None if not ours."""
    now = timezone.now()
    lease = timedelta(seconds=settings.ONECLICKDZ_SENDING_LEASE_SECONDS)
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            return None
        # A resend (same reference) only once the API said NOT_FOUND well after the last attempt.
        resend_after = timedelta(seconds=settings.ONECLICKDZ_RESEND_AFTER_SECONDS)
        resend = (
            order.status in (S.UNKNOWN, S.ATTENTION) and not order.topup_id
            and order.send_attempts < MAX_SEND_ATTEMPTS and (order.sent_at or now) + resend_after <= now
        )
        if order.status != S.NEW and not resend:
            return None
        claimed = Order.objects.filter(pk=order_id, status=order.status).update(
            status=S.SENDING, sent_at=now, send_attempts=F("send_attempts") + 1, next_check_at=now + lease,
            updated_at=now,
        )
        if not claimed:
            return None
        OrderEvent.objects.create(
            order=order, from_status=order.status, to_status=S.SENDING, actor_id=actor.user_id,
            actor_label=actor.label, note=_("Sending again with the same reference") if resend else "",
        )
    order.refresh_from_db()
    return order, not resend


def _pre_send_checks(order: Order, client, actor: Actor) -> SendReport | None:
    """The cached catalog and the API's number check, before the first POST."""
    product = Product.objects.filter(line_type=order.line_type, value=order.value).first()
    if product is not None and not product.available:
        message = _("This card value is out of stock.")
        _apply_one(order, S.REFUSED, actor, note=message, refusal_code="ERR_STOCK", refusal_message=message,
                   next_check_at=None)
        return SendReport(order.ref, "refused", S.REFUSED, message)
    try:
        check = client.single_try().check_number(order.line_type, order.number)
    except (api_errors.PhoneError, api_errors.InvalidRequest) as exc:
        return _refuse(order, actor, exc)
    except api_errors.OneClickError as exc:
        # The check is a GET: nothing happened at the API. Try the whole send again later.
        return _back_to_new(order, actor, exc)
    Order.objects.filter(pk=order.pk).update(ncli=check.ncli[:32], offre=check.offre[:64],
                                            cost=product.cost if product else order.cost)
    return None


def _refuse(order: Order, actor: Actor, exc: api_errors.OneClickError) -> SendReport:
    """A first send turned down (by the API, or by the client before the POST): nothing debited."""
    code = exc.code if not isinstance(exc, api_errors.InvalidRequest) else api_errors.ValidationFailed.default_code
    _apply_one(order, S.REFUSED, actor, note=exc.message[:255], payload=_error_payload(exc),
               refusal_code=code, refusal_message=exc.message[:255], next_check_at=None)
    log.info("order %s refused: %s", order.ref, exc.code)
    return SendReport(order.ref, "refused", S.REFUSED, exc.message)


def _refused_on_resend(order: Order, actor: Actor, exc: api_errors.OneClickError) -> SendReport:
    """A refusal answered to a resend proves nothing about the earlier attempt, which may have been
    debited (the docs do not promise DUPLICATED_REF is checked before stock and balance): a person
    must look. Both answers go into the history."""
    earlier = (OrderEvent.objects.filter(order_id=order.pk, to_status=S.UNKNOWN).order_by("-pk")
               .values_list("payload", flat=True).first())
    note = _("Refused when sent again (%(code)s), but an earlier attempt may have been debited: check with "
             "OneClickDZ before anything else.") % {"code": exc.code}
    _apply_one(order, S.ATTENTION, actor, note=note, payload={"refusal": _error_payload(exc), "earlier": earlier},
               next_check_at=timezone.now() + ATTENTION_POLL)
    log.warning("order %s refused on resend (%s): needs attention", order.ref, exc.code)
    return SendReport(order.ref, "attention", S.ATTENTION, note)


def _not_sent(order: Order, actor: Actor, exc: Exception, *, first_send: bool) -> SendReport:
    """This POST certainly did not reach the API. A first send waits as NEW; a resend stays a
    resend (UNKNOWN), since an earlier attempt may have reached the API."""
    if first_send:
        return _back_to_new(order, actor, exc)
    message = _describe_problem(exc)
    _apply_one(order, S.UNKNOWN, actor, note=message, payload=_error_payload(exc),
               next_check_at=timezone.now() + timedelta(seconds=30), send_attempts=max(order.send_attempts - 1, 0))
    log.warning("order %s not sent again, still checking by reference: %s", order.ref, exc)
    return SendReport(order.ref, "unknown", S.UNKNOWN, message)


def _back_to_new(order: Order, actor: Actor, exc: Exception) -> SendReport:
    now = timezone.now()
    age = now - (order.send_requested_at or now)
    delay = min(max(age / 4, timedelta(seconds=15)), timedelta(minutes=10))
    if isinstance(exc, (api_errors.AuthError, api_errors.ConfigurationError)):
        delay = timedelta(minutes=10)
    message = _describe_problem(exc)
    # Give back the attempt: this POST never reached the API.
    _apply_one(order, S.NEW, actor, note=message, payload=_error_payload(exc), next_check_at=now + delay,
               send_attempts=max(order.send_attempts - 1, 0))
    log.warning("order %s not sent, will retry: %s", order.ref, exc)
    return SendReport(order.ref, "retry", S.NEW, message)


def _mark_unknown(order: Order, actor: Actor, exc: Exception) -> SendReport:
    note = _("No clear answer from the API; checking by reference. It will not be sent twice.")
    _apply_one(order, S.UNKNOWN, actor, note=f"{note} ({type(exc).__name__})"[:255], payload=_error_payload(exc),
               next_check_at=timezone.now() + timedelta(seconds=10))
    log.warning("order %s outcome unknown after send: %r", order.ref, exc)
    return SendReport(order.ref, "unknown", S.UNKNOWN, note)


def _adopt_by_ref(order: Order, actor: Actor, *, note: str) -> SendReport:
    try:
        topup = get_client().single_try().check_ref(order.ref)
    except Exception as exc:
        return _mark_unknown(order, actor, exc)
    change = _plan_from_topup(order, topup, timezone.now())
    _apply([change], actor)
    log.info("order %s already known to the API: adopted as %s", order.ref, change.to_status)
    return SendReport(order.ref, "adopted", change.to_status, note)


# Following -------------------------------------------------------------------------------------


@dataclass
class Change:
    """A planned update of one order, applied only if it is still in ``expected`` status."""

    order_id: int
    expected: str
    to_status: str
    fields: dict = field(default_factory=dict)
    note: str = ""
    payload: dict | None = None
    # The send attempt the change was decided under: a change is dropped if the order was claimed
    # again meanwhile (a sender outliving its lease must not overwrite a later resend).
    attempt: int | None = None


def _apply_one(order: Order, to_status: str, actor: Actor, *, note: str = "", payload=None, **fields) -> Order:
    """Move one order (must still be in its current status and send attempt) and record the event;
    raises IllegalTransition for a move TRANSITIONS forbids."""
    if to_status != order.status and to_status not in TRANSITIONS[order.status]:
        raise IllegalTransition(order, to_status)
    change = Change(order.pk, order.status, to_status, fields, note, payload, order.send_attempts)
    applied = _apply([change], actor)
    if applied:
        order.refresh_from_db()
    return order


def _apply(changes: list[Change], actor: Actor) -> list[int]:
    """Apply changes in one transaction with a constant number of queries: lock and re-read the
    rows, skip any whose status moved meanwhile, bulk-update, bulk-insert the events."""
    if not changes:
        return []
    now = timezone.now()
    applied, events, updated, names = [], [], [], {"updated_at"}
    with transaction.atomic():
        rows = Order.objects.select_for_update().in_bulk([c.order_id for c in changes])
        for change in changes:
            order = rows.get(change.order_id)
            if order is None or order.status != change.expected:
                continue
            if change.attempt is not None and order.send_attempts != change.attempt:
                log.warning("order %s: dropped a change decided under attempt %s (now %s)", order.ref,
                            change.attempt, order.send_attempts)
                continue
            moving = change.to_status != order.status
            if moving and change.to_status not in TRANSITIONS[order.status]:
                log.error("order %s: refused illegal move %s → %s", order.ref, order.status, change.to_status)
                continue
            for name, value in change.fields.items():
                setattr(order, name, value)
                names.add(name)
            order.updated_at = now
            if moving:
                events.append(OrderEvent(order=order, from_status=order.status, to_status=change.to_status,
                                         actor_id=actor.user_id, actor_label=actor.label, note=change.note[:255],
                                         payload=change.payload, created_at=now))
                order.status = change.to_status
                names.add("status")
                log.info("order %s %s → %s by %s", order.ref, events[-1].from_status, order.status, actor.label)
            updated.append(order)
            applied.append(order.pk)
        if updated:
            Order.objects.bulk_update(updated, sorted(names), batch_size=500)
        OrderEvent.objects.bulk_create(events, batch_size=500)
    return applied


def next_check_at(status: str, sent_at: datetime | None, now: datetime) -> datetime | None:
    """When to look at an order again: every 5 s in its first 5 minutes, then backing off
    (a tenth of its age, at most 15 minutes); QUEUED hourly; never for a final order."""
    age = now - (sent_at or now)
    if status in (S.HANDLING, S.UNKNOWN):
        if age < FAST_WINDOW:
            return now + FAST_POLL
        return now + min(age / 10, SLOW_POLL_CAP)
    if status == S.QUEUED:
        return now + QUEUED_POLL
    if status == S.ATTENTION:
        return now + ATTENTION_POLL
    return None


def _differences(order: Order, topup: Topup) -> dict[str, tuple[str, str]]:
    """What differs between our order and the top-up the API holds under its ref or id:
    {field: (ours, the API's)}. A field the answer leaves out is not compared."""
    differences = {}
    if topup.type is not None and topup.type.value != order.line_type:
        differences["type"] = (order.line_type, topup.type.value)
    if topup.number and topup.number != order.number:
        differences["number"] = (order.number, topup.number)
    if topup.value is not None and topup.value != order.value:
        differences["value"] = (str(order.value), str(topup.value))
    return differences


def _plan_mismatch(order: Order, topup: Topup, now: datetime, differences: dict) -> Change:
    """The API holds another order under our ref (another tool on the account used it): never
    adopt it, never show its code. Our order itself was never accepted under that ref."""
    fields = {"api_status": topup.status.value[:32], "checks": order.checks + 1, "last_checked_at": now,
              "next_check_at": now + ATTENTION_POLL}
    note = _("The API holds a different order under this reference (%(fields)s): not ours, no code is shown.") % {
        "fields": ", ".join(sorted(differences))}
    payload = {"ours": {"type": order.line_type, "number": order.number, "value": str(order.value)},
               "api": _topup_payload(topup), "differences": differences}
    return Change(order.pk, order.status, S.ATTENTION, fields, note, payload, order.send_attempts)


def _plan_from_topup(order: Order, topup: Topup, now: datetime) -> Change:
    differences = _differences(order, topup)
    if differences:
        return _plan_mismatch(order, topup, now, differences)
    to_status = _API_TO_ORDER.get(topup.status)
    code_missing = topup.status == TopupStatus.FULFILLED and not topup.card_code
    if to_status is None or code_missing:
        # An undocumented status, or FULFILLED without its card code: keep following it.
        to_status = order.status if order.status in (S.HANDLING, S.QUEUED, S.ATTENTION) else S.HANDLING
    age = now - (order.sent_at or order.created_at)
    note = ""
    if code_missing and now - (topup.processed_at or order.sent_at or now) > CODE_MISSING_LIMIT:
        to_status, note = S.ATTENTION, _("Fulfilled by the API but without its card code: contact OneClickDZ "
                                         "support.")
    elif to_status == S.QUEUED and age > QUEUED_LIMIT:
        to_status, note = S.ATTENTION, _("Still queued after 48 hours: contact OneClickDZ support.")
    elif to_status == S.HANDLING and age > HANDLING_LIMIT:
        to_status, note = S.ATTENTION, _("Still processing after 6 hours: contact OneClickDZ support.")
    elif order.status == S.ATTENTION and to_status in (S.HANDLING, S.QUEUED):
        to_status = S.ATTENTION
    fields = {
        "topup_id": topup.id or order.topup_id,
        "api_status": topup.status.value[:32],
        "checks": order.checks + 1,
        "last_checked_at": now,
        "next_check_at": next_check_at(to_status, order.sent_at, now),
    }
    if code_missing:
        if to_status != S.ATTENTION:
            fields["next_check_at"] = next_check_at(S.HANDLING, order.sent_at, now)
    elif topup.status == TopupStatus.FULFILLED:
        fields.update(card_code=topup.card_code, num_trans=topup.num_trans, processed_at=topup.processed_at)
        note = note or _("Card delivered")
    elif topup.status == TopupStatus.REFUNDED:
        note = note or _("Failed at the operator; the API refunded the cost")
    elif topup.status == TopupStatus.QUEUED and not note:
        note = _("Queued by the operator: processed within 12–48 h, not a failure")
    return Change(order.pk, order.status, to_status, fields, note, _topup_payload(topup), order.send_attempts)


def _plan_not_found(order: Order, now: datetime) -> Change:
    """The API does not know the order's reference. Decide whether sending again is safe."""
    fields = {"checks": order.checks + 1, "last_checked_at": now}
    resend_after = timedelta(seconds=settings.ONECLICKDZ_RESEND_AFTER_SECONDS)
    if order.topup_id and now - (order.sent_at or now) < LOOKUP_LAG:
        # The API accepted it moments ago: its read side has not caught up yet. Ask again soon.
        fields["next_check_at"] = now + FAST_POLL
        return Change(order.pk, order.status, order.status, fields, attempt=order.send_attempts)
    if order.topup_id:
        fields["next_check_at"] = now + ATTENTION_POLL
        return Change(order.pk, order.status, S.ATTENTION, fields, _("The API does not know this top-up id."),
                      attempt=order.send_attempts)
    if order.send_attempts >= MAX_SEND_ATTEMPTS:
        fields["next_check_at"] = now + ATTENTION_POLL
        note = _("Not found at the API after %(n)d attempts.") % {"n": order.send_attempts}
        return Change(order.pk, order.status, S.ATTENTION, fields, note, attempt=order.send_attempts)
    fields["next_check_at"] = max(now + FAST_POLL, (order.sent_at or now) + resend_after)
    return Change(order.pk, order.status, order.status, fields, attempt=order.send_attempts)


@dataclass
class SyncReport:
    checked: int = 0
    changed: int = 0
    api_calls: int = 0
    resends: list[int] = field(default_factory=list)
    stale_recovered: int = 0
    sends_redispatched: int = 0
    errors: list[str] = field(default_factory=list)


def refresh_orders(orders, *, actor: Actor, now: datetime | None = None) -> SyncReport:
    """Ask the API for the current state of these orders (the tracked ones) and record it.

    Uses one /internet/list walk for many orders and check-id / check-ref for a few. An order
    the API does not know (after an ambiguous send) is scheduled for a resend with its reference
    once that is safe. Final and unsent orders are never asked about.
    """
    now = now or timezone.now()
    report = SyncReport()
    due = [o for o in orders if o.status in TRACKED_STATUSES]
    if not due:
        return report
    if actor.user_id is not None:  # a person asked: the sync's own cycles are not audited
        refs = [o.ref for o in due]
        audit.record(actor=actor, action="refresh", target=_refs_target(refs),
                     detail={"count": len(refs), "refs": refs[:100]})
    report.checked = len(due)
    found, not_found, postponed = _fetch_states(due, report)
    changes = [_plan_from_topup(o, found[o.pk], now) for o in due if o.pk in found]
    changes += [_plan_not_found(o, now) for o in due if o.pk in not_found]
    retry_at = now + timedelta(seconds=30)
    changes += [Change(o.pk, o.status, o.status, {"next_check_at": retry_at}, attempt=o.send_attempts)
                for o in due if o.pk in postponed]
    applied = set(_apply(changes, actor))
    report.changed = sum(1 for c in changes if c.order_id in applied and c.to_status != c.expected)
    resend_after = timedelta(seconds=settings.ONECLICKDZ_RESEND_AFTER_SECONDS)
    report.resends = [
        o.pk for o in due
        if o.pk in not_found and o.pk in applied and not o.topup_id and o.send_attempts < MAX_SEND_ATTEMPTS
        and (o.sent_at or now) + resend_after <= now
    ]
    if report.resends:
        _enqueue_sends_again(report.resends, actor)
    return report


def _fetch_states(due: list[Order], report: SyncReport) -> tuple[dict[int, Topup], set[int], set[int]]:
    client = get_client()
    found: dict[int, Topup] = {}
    not_found: set[int] = set()
    if len(due) >= LIST_THRESHOLD:
        try:
            _walk_list(client, due, found, report)
        except api_errors.OneClickError as exc:
            report.errors.append(str(exc))
            if isinstance(exc, (api_errors.AuthError, api_errors.ConfigurationError)):
                return found, not_found, {o.pk for o in due if o.pk not in found}
    remaining = [o for o in due if o.pk not in found]
    postponed: set[int] = set()
    for index, order in enumerate(remaining):
        if index >= MAX_SINGLE_CHECKS:
            postponed.update(o.pk for o in remaining[index:])
            break
        try:
            report.api_calls += 1
            found[order.pk] = client.check_id(order.topup_id) if order.topup_id else client.check_ref(order.ref)
        except api_errors.NotFound:
            not_found.add(order.pk)
        except api_errors.BadResponse as exc:
            # This order's answer cannot be read: skip it (asked again later), the others go on.
            report.errors.append(f"{order.ref}: {exc}")
            postponed.add(order.pk)
        except api_errors.OneClickError as exc:
            # The API is struggling or refuses us: stop calling for this cycle.
            report.errors.append(f"{order.ref}: {exc}")
            postponed.update(o.pk for o in remaining[index:])
            break
    return found, not_found, postponed


def _walk_list(client, due: list[Order], found: dict[int, Topup], report: SyncReport) -> None:
    """Match due orders against /internet/list pages covering their creation window."""
    by_ref = {o.ref: o for o in due}
    by_id = {o.topup_id: o for o in due if o.topup_id}
    start = min(o.created_at for o in due) - timedelta(minutes=5)
    end = timezone.now() + timedelta(minutes=5)
    # The window also holds orders that are not due (and other clients' orders): walk until every
    # due order is matched or the pages end, within a fixed bound of calls per cycle.
    page = 1
    while page <= MAX_LIST_PAGES and len(found) < len(due):
        report.api_calls += 1
        result = client.list_topups(page=page, page_size=LIST_PAGE_SIZE, from_=start, to=end)
        for topup in result.items:
            order = by_ref.get(topup.ref) or by_id.get(topup.id)
            if order is not None:
                found[order.pk] = topup
        if result.unreadable:
            report.errors.append(f"list page {page}: {len(result.unreadable)} unreadable item(s) skipped")
        if not result.has_next:
            break
        page += 1


def _enqueue_sends_again(order_ids: list[int], actor: Actor) -> None:
    from django_q.tasks import async_task

    for order_id in order_ids:
        async_task("topups.tasks.send_orders", [order_id], *Actor.task("resend", on_behalf_of=actor).to_task_args(),
                   task_name="resend an order not found by reference")


def sync_due_orders(*, now: datetime | None = None, batch_size: int = 500) -> SyncReport:
    """One cycle of the status sync: recover orders left in SENDING by a dead worker, redispatch
    sends whose task was lost, and refresh tracked orders that are due. Query count is constant
    per batch; final orders are never asked about."""
    now = now or timezone.now()
    stale = _recover_stale_sending(now)
    redispatched = _redispatch_waiting_sends(now)
    due = list(
        Order.objects.filter(status__in=TRACKED_STATUSES, next_check_at__lte=now)
        .order_by("next_check_at")[:batch_size]
    )
    report = refresh_orders(due, actor=SYNC, now=now)
    report.stale_recovered, report.sends_redispatched = stale, redispatched
    return report


def _recover_stale_sending(now: datetime) -> int:
    """SENDING past its lease means the worker died mid-send: we cannot know whether the POST
    left, so the order becomes UNKNOWN and is reconciled by its reference."""
    stale = list(Order.objects.filter(status=S.SENDING, next_check_at__lte=now))
    changes = [
        Change(o.pk, S.SENDING, S.UNKNOWN, {"next_check_at": now},
               _("The send was interrupted; checking by reference."), attempt=o.send_attempts)
        for o in stale
    ]
    return len(_apply(changes, SYNC))


def _redispatch_waiting_sends(now: datetime) -> int:
    """NEW orders whose send was requested but is overdue (task lost, or API was down)."""
    waiting = list(
        Order.objects.filter(status=S.NEW, send_requested_at__isnull=False, next_check_at__lte=now)
        .values_list("pk", flat=True)[:500]
    )
    if waiting:
        Order.objects.filter(pk__in=waiting, status=S.NEW).update(next_check_at=now + timedelta(minutes=2))
        _enqueue_sends(waiting, SYNC)
    return len(waiting)


def schedule_refresh(order_ids: list[int]) -> int:
    """Make tracked orders due now, so the next sync cycle (within a minute) refreshes them."""
    return Order.objects.filter(pk__in=order_ids, status__in=TRACKED_STATUSES).update(next_check_at=timezone.now())


def cancel_orders(orders, *, actor: Actor) -> tuple[list[str], list[tuple[str, str]]]:
    """Cancel the orders that were never sent (NEW); return (cancelled refs, (ref, status) of the
    others). An order a worker claimed meanwhile is left alone: it is being sent."""
    rows = list(orders.values_list("pk", "ref", "status"))
    changes = [Change(pk, S.NEW, S.CANCELLED, {"next_check_at": None, "send_requested_at": None},
                      _("Cancelled before sending")) for pk, _ref, status in rows if status == S.NEW]
    applied = set(_apply(changes, actor))
    cancelled = [ref for pk, ref, _status in rows if pk in applied]
    skipped = [(ref, status) for pk, ref, status in rows if pk not in applied]
    return cancelled, skipped


def close_never_sent(orders, *, actor: Actor) -> tuple[list[str], list[tuple[str, str]]]:
    """Close (cancel) orders needing attention that provably never reached the API; return
    (closed refs, (ref, why not) for the others).

    Proof, asked of the API now by reference, well after the last attempt (past the resend delay
    and the read replica's lag): check-ref answers NOT_FOUND, or it holds a *different* order under
    our ref (the ref is unique account-wide, so ours was never accepted under it). An order the API
    accepted (it has a top-up id) or holds is never closed: it is followed to its end instead.
    """
    now = timezone.now()
    quiet = max(timedelta(seconds=settings.ONECLICKDZ_RESEND_AFTER_SECONDS), LOOKUP_LAG)
    closed: list[str] = []
    refused: list[tuple[str, str]] = []
    client = None
    for order in orders:
        if order.status != S.ATTENTION:
            refused.append((order.ref, _("it does not need attention")))
            continue
        if order.topup_id:
            refused.append((order.ref, _("the API accepted it (top-up id %(id)s)") % {"id": order.topup_id}))
            continue
        if order.sent_at and order.sent_at + quiet > now:
            refused.append((order.ref, _("its last attempt is too recent; try again in a few minutes")))
            continue
        client = client or get_client()
        try:
            topup = client.check_ref(order.ref)
        except api_errors.NotFound as exc:
            proof, note = _error_payload(exc), _("Closed: the API does not know this reference; nothing was charged.")
        except api_errors.OneClickError as exc:
            refused.append((order.ref, _("the API could not be asked: %(error)s") % {"error": exc.message}))
            continue
        else:
            differences = _differences(order, topup)
            if not differences:
                _apply([_plan_from_topup(order, topup, now)], actor)
                refused.append((order.ref, _("the API holds it (%(status)s)") % {"status": topup.status.value}))
                continue
            proof = {"api": _topup_payload(topup), "differences": differences}
            note = _("Closed: the API holds a different order under this reference; ours was never accepted.")
        change = Change(order.pk, S.ATTENTION, S.CANCELLED, {"next_check_at": None, "send_requested_at": None},
                        note, proof, order.send_attempts)
        if _apply([change], actor):
            closed.append(order.ref)
        else:
            refused.append((order.ref, _("it changed meanwhile")))
    return closed, refused


# Helpers ---------------------------------------------------------------------------------------


def _describe_problem(exc: Exception) -> str:
    if isinstance(exc, api_errors.ConfigurationError):
        return _("No API key is configured.")
    if isinstance(exc, api_errors.AuthError):
        return _("The API refused the key: %(reason)s") % {"reason": getattr(exc, "message", str(exc))}
    if isinstance(exc, api_errors.RateLimited):
        return _("The API asked us to slow down; the order will be sent shortly.")
    return _("The API could not be reached; the order will be sent when it answers.")


def _error_payload(exc: Exception) -> dict:
    if isinstance(exc, api_errors.OneClickError):
        return {"code": exc.code, "message": exc.message, "details": exc.details, "httpStatus": exc.http_status,
                "requestId": exc.request_id}
    return {"error": type(exc).__name__}


def _topup_payload(topup: Topup) -> dict:
    """The API's answer for the history, with the card code masked."""
    payload = dict(topup.raw)
    if payload.get("card_code"):
        payload["card_code"] = mask_code(str(payload["card_code"]))
    return payload
