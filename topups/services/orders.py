"""Orders as staff and supervisors ask for them: create, request sending, cancel, close.

The one code path used by the dashboard forms, the admin actions and the bulk files. How an order
is sent is in ``sending``, how it is followed in ``sync``, what an API answer means in
``planning``; every status change goes through ``lifecycle``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from topups import lines, notes
from topups.models import (
    LedgerCursor,
    LedgerRow,
    MobilePlan,
    Order,
    OrderEvent,
    OrderStatus,
    Product,
)
from topups.notes import Note
from topups.oneclick import errors as api_errors
from topups.oneclick import mask_code
from topups.services import audit, dispatch, lifecycle, planning, sales, tills
from topups.services.account import get_client
from topups.services.actors import Actor
from topups.services.lifecycle import Change

log = logging.getLogger("topups.orders")
S = OrderStatus
# A send requested but not started by then is dispatched again by the sync.
SEND_OVERDUE = timedelta(minutes=2)


class OrderInputError(ValueError):
    """An order that cannot be created as asked; the message is for staff."""


def create_order(
    *,
    line_type: str = "",
    number: str,
    value: Decimal | None,
    actor: Actor,
    service: str = "",
    plan_code: str = "",
    ref: str | None = None,
    note: str = "",
    send: bool = False,
    products: list[Product] | None = None,
    plan: MobilePlan | None = None,
    catalog: list | None = None,
) -> tuple[Order, bool]:
    """Create an order and return it with ``created``; with ``send``, a new order is also handed
    to a send task at once (the order form).

    What is sold is checked by the one door, ``sales.check_sale``: ``service`` names the product
    line (blank: the first registered, internet cards) and ``line_type``, ``plan_code``,
    ``number``, ``value`` are read by that line (a card: a type and a catalog value; flexy: a
    plan, a number and an amount).

    Passing the ``ref`` the form was rendered with makes the call idempotent: a double click or
    a resubmitted form returns the order the first request created instead of a second one (and
    sends nothing). ``catalog`` (or ``products`` / ``plan``): catalog rows the caller already holds
    (the form's), searched before the database is.
    """
    fields = {"line_type": line_type, "plan_code": plan_code, "number": number, "value": value}
    try:
        sale = sales.check_sale(service, fields, catalog=catalog or products or ([plan] if plan else None),
                                 on_sale=False)
    except sales.SaleRefused as exc:
        raise OrderInputError(str(exc)) from None
    order = Order(service=sale.line.code, price=sale.quote.price, **sale.item.order_fields())
    now = timezone.now()
    # The books' snapshot (price, cost, seller, till): written here, never updated afterwards.
    order.created_by_id, order.note, order.created_at = actor.user_id, note, now
    if send:
        order.send_requested_at, order.next_check_at = now, now + SEND_OVERDUE
    if ref:
        order.ref = ref
    try:
        with transaction.atomic():
            order.till = tills.attach(actor)  # locked: a till being closed takes no order
            lifecycle.create_orders([order], actor, note=Note(gettext_noop("Order created")))
    except tills.TillError as exc:
        raise OrderInputError(str(exc)) from None
    except IntegrityError:
        existing = Order.objects.filter(ref=ref).first() if ref else None
        if existing is None:
            raise
        # The same form submitted again (or twice at the same instant): the first one won.
        if _identity(existing) != _identity(order):
            raise OrderInputError(_("This reference is already used by another order.")) from None
        return existing, False
    if send:
        _hand_to_senders([order.pk], [order.ref], actor)
    return order, True


def _identity(order: Order) -> tuple:
    """What makes two create requests the same order (a resubmitted form)."""
    return order.service, order.line_type, order.plan_code, order.number, Decimal(order.value)


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
            send_requested_at=now, next_check_at=now + SEND_OVERDUE, updated_at=now
        )
        _hand_to_senders(sendable, report.queued, actor)
    return report


def _hand_to_senders(order_ids: list[int], refs: list[str], actor: Actor) -> None:
    """Orders whose send is requested (stored first): enqueue them and audit who asked."""
    dispatch.enqueue_sends(order_ids, actor)
    audit.record_orders(actor=actor, action="send", refs=refs)


def cancel_orders(orders, *, actor: Actor) -> tuple[list[str], list[tuple[str, str]]]:
    """Cancel the orders that were never sent (NEW); return (cancelled refs, (ref, status) of the
    others). An order a worker claimed meanwhile is left alone: it is being sent."""
    rows = list(orders.values_list("pk", "ref", "status"))
    changes = [Change(pk, S.NEW, S.CANCELLED, {"next_check_at": None, "send_requested_at": None},
                      _("Cancelled before sending")) for pk, _ref, status in rows if status == S.NEW]
    applied = lifecycle.apply_changes(changes, actor)
    cancelled = [ref for pk, ref, _status in rows if pk in applied]
    skipped = [(ref, status) for pk, ref, status in rows if pk not in applied]
    return cancelled, skipped


# The proofs the close action may use, stored with the closing event (its payload's "proof").
PROOF_NOT_FOUND = "not_found"  # NOT_FOUND, and nothing in the order's life says the API may hold it
PROOF_LEDGER = "ledger"  # NOT_FOUND, and the ledger read past the last attempt shows no debit that may be its
PROOF_NOT_FOUND_WINDOW = "not_found_window"  # NOT_FOUND for ONECLICKDZ_NOT_FOUND_CLOSE_HOURS
PROOF_REF_TAKEN = "ref_taken"  # the API holds a different order under our ref
MAY_HOLD_WHY = {
    planning.MAY_HOLD_ACCEPTED: gettext_noop("the API accepted it"),
    planning.MAY_HOLD_DUPLICATED_REF: gettext_noop("it answered DUPLICATED_REF"),
    planning.MAY_HOLD_UNCLEAR_POST: gettext_noop("a send had no clear answer"),
}


def close_never_sent(orders, *, actor: Actor) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Close (cancel) orders needing attention that provably never reached the API; return
    ((ref, the proof used) of the closed ones, (ref, why not) for the others).

    Asked of the API now by reference, well after the last attempt (past the resend delay and the
    read replica's lag). An order the API accepted (it has a top-up id) or holds is never closed:
    it is followed to its end instead. Proofs, one stored with the close (code and parameters):

    - the API holds a *different* order under our ref (unique account-wide: ours was never accepted);
    - check-ref NOT_FOUND, for an order nothing in whose life says the API may hold it;
    - for one that the API may hold (``planning.api_may_hold``: DUPLICATED_REF, an unclear POST),
      NOT_FOUND is not enough: the ledger must have been read past its last attempt and show no
      debit that may be its, or NOT_FOUND must have lasted ``ONECLICKDZ_NOT_FOUND_CLOSE_HOURS``.
    """
    now = timezone.now()
    quiet = max(timedelta(seconds=settings.ONECLICKDZ_RESEND_AFTER_SECONDS), planning.LOOKUP_LAG)
    orders = list(orders)
    histories = _histories([o.pk for o in orders])
    closed: list[tuple[str, str]] = []
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
        history = histories.get(order.pk, [])
        try:
            topup = lines.of(order).check_ref(client, order.ref)
        except api_errors.NotFound as exc:
            since = order.not_found_since or now
            if order.not_found_since is None:
                Order.objects.filter(pk=order.pk, not_found_since__isnull=True).update(not_found_since=now)
            proof, why_not = _not_found_proof(order, history, since, now)
            if proof is None:
                refused.append((order.ref, why_not))
                continue
            proof["api"] = planning.error_payload(exc)
        except api_errors.OneClickError as exc:
            refused.append((order.ref, _("the API could not be asked: %(error)s") % {"error": exc.message}))
            continue
        else:
            differences = planning.differences(order, topup)
            if not differences:
                lifecycle.apply_changes([planning.change_from_topup(order, topup, now)], actor)
                refused.append((order.ref, _("the API holds it (%(status)s)") % {"status": topup.status.value}))
                continue
            proof = {"proof": PROOF_REF_TAKEN, "api": planning.topup_payload(topup), "differences": differences,
                     "note": Note(gettext_noop("Closed: the API holds a different order under this reference; "
                                               "ours was never accepted."))}
        note = proof.pop("note")
        change = Change(order.pk, S.ATTENTION, S.CANCELLED, {"next_check_at": None, "send_requested_at": None},
                        note, proof, order.send_attempts)
        if lifecycle.apply_changes([change], actor):
            closed.append((order.ref, notes.render(str(note), note.msgid, note.params)))
        else:
            refused.append((order.ref, _("it changed meanwhile")))
    return closed, refused


def _histories(order_ids: list[int]) -> dict[int, list[tuple]]:
    """Each order's events as (to_status, payload, time), oldest first: one query."""
    found: dict[int, list[tuple]] = {}
    for order_id, to_status, payload, at in (OrderEvent.objects.filter(order_id__in=order_ids).order_by("pk")
                                             .values_list("order_id", "to_status", "payload", "created_at")):
        found.setdefault(order_id, []).append((to_status, payload, at))
    return found


def _not_found_proof(order: Order, history: list[tuple], since, now) -> tuple[dict | None, str]:
    """What proves an order check-ref answers NOT_FOUND for never reached the API: (the proof,
    with its note, for the closing event; None and why not)."""
    may_hold = planning.api_may_hold(order, [(to_status, payload) for to_status, payload, _at in history])
    if not may_hold:
        return {"proof": PROOF_NOT_FOUND, "note": Note(gettext_noop(
            "Closed: the API does not know this reference and no attempt can have reached it; nothing was "
            "charged."))}, ""
    window = timedelta(hours=settings.ONECLICKDZ_NOT_FOUND_CLOSE_HOURS)
    if since + window <= now:
        hours = int((now - since).total_seconds() // 3600)
        return {"proof": PROOF_NOT_FOUND_WINDOW, "evidence": may_hold, "not_found_since": since.isoformat(),
                "note": Note(gettext_noop("Closed: the API has answered NOT_FOUND for this reference for %(hours)d "
                                          "hours; nothing was charged."), hours=hours)}, ""
    attempts = [at for to_status, _payload, at in history if to_status == S.SENDING] + [order.sent_at or order.created_at]
    ledger_proof, why_not = _ledger_shows_no_debit(order, min(attempts), max(attempts))
    if ledger_proof is not None:
        return {"proof": PROOF_LEDGER, "evidence": may_hold, "ledger": ledger_proof,
                "note": Note(gettext_noop("Closed: the API does not know this reference and its ledger, read up "
                                          "to %(synced)s, shows no debit that may be this order's; nothing was "
                                          "charged."), synced=ledger_proof["synced_at"])}, ""
    return None, _("the API may hold it (%(why)s) and %(why_not)s") % {"why": _(MAY_HOLD_WHY[may_hold]),
                                                                       "why_not": why_not}


def _ledger_shows_no_debit(order: Order, first_attempt, last_attempt) -> tuple[dict | None, str]:
    """Whether the provider's ledger, read past the order's last attempt (plus its POST's timeouts or
    the sending lease, whichever is longer, and ``LEDGER_GRACE_SECONDS``), holds no debit of its service between its first and last attempts
    that may be its: every such debit belongs to another of our orders (its top-up id). A debit
    we cannot tell (another tool's, no top-up id, a row we cannot read) may be this one."""
    # The API debits while our POST waits for its answer (at most one connect and one read timeout
    # after the attempt started); the grace covers rows it writes late and its clock running behind.
    grace = timedelta(seconds=settings.LEDGER_GRACE_SECONDS + settings.ONECLICKDZ_CONNECT_TIMEOUT
                      + settings.ONECLICKDZ_READ_TIMEOUT)
    start = first_attempt - planning.LOOKUP_LAG
    # A POST held up on its way or queued at the provider may be debited after our client gave up
    # on it, until the lease's end (``planning.last_processing_moment``).
    end = max(last_attempt + grace, planning.last_processing_moment(last_attempt)
              + timedelta(seconds=settings.LEDGER_GRACE_SECONDS))
    synced_at = LedgerCursor.objects.filter(name="ledger").values_list("synced_at", flat=True).first()
    if synced_at is None or synced_at < end:
        return None, _("the ledger has not been read since its last attempt: synchronise it, then try again")
    types = list(order.line.debit_types)
    # A row whose time the API left out or we could not read is stored at the time it was fetched
    # (``ledger._row``): it may be any movement written before that, this order's debit included.
    timeless = Q(time=F("fetched_at"), fetched_at__gte=start)
    rows = list(LedgerRow.objects.filter(Q(time__gte=start, time__lte=end) | timeless)
                .filter(Q(type__in=types) | Q(raw__isnull=False)).values_list("api_id", "objid"))
    ours = set(Order.objects.filter(topup_id__in=[objid for _id, objid in rows if objid]).exclude(pk=order.pk)
               .values_list("topup_id", flat=True))
    unexplained = [api_id for api_id, objid in rows if not objid or objid not in ours]
    if unexplained:
        return None, _("the ledger shows a debit that may be its (%(rows)s)") % {"rows": ", ".join(unexplained[:5])}
    return {"synced_at": timezone.localtime(synced_at).strftime("%Y-%m-%d %H:%M"), "from": start.isoformat(),
            "to": end.isoformat(), "debits_checked": len(rows)}, ""


# Settling an order the API accepted that needs attention ------------------------------------------

SETTLED_REFUNDED = "refunded"  # refunded by the provider's support
SETTLED_FULFILLED = "fulfilled"  # fulfilled: the code (a card) given by the provider's support
SETTLE_OUTCOMES = {SETTLED_REFUNDED: S.REFUNDED, SETTLED_FULFILLED: S.FULFILLED}


class SettleError(ValueError):
    """An order that cannot be settled as asked; the message is for the supervisor."""


def settle_accepted(*, order_id: int, outcome: str, note: str, actor: Actor, card_code: str = "") -> Order:
    """Settle an order needing attention that the API may hold (``planning.api_may_hold``: the
    close action refuses it) with what the provider's support said: refunded, or fulfilled (an
    internet card with the code entered). Through the status door, with the supervisor's note in
    the history (card code masked) and an audit row; the order is final, its bulk file completes.
    Raises SettleError, nothing written, for anything else."""
    note = (note or "").strip()
    card_code = "".join((card_code or "").split())
    if outcome not in SETTLE_OUTCOMES:
        raise SettleError(_("Choose how the provider settled it."))
    if not note:
        raise SettleError(_("Say what the provider's support said (a note is required)."))
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise SettleError(_("No such order."))
    if order.status != S.ATTENTION:
        raise SettleError(_("Only an order that needs attention can be settled."))
    history = _histories([order.pk]).get(order.pk, [])
    if not planning.api_may_hold(order, [(to_status, payload) for to_status, payload, _at in history]):
        raise SettleError(_("Nothing says the API ever had this order: close it as never sent instead."))
    fields = {"next_check_at": None, "send_requested_at": None}
    payload = {"settled": outcome, "note": note[:500]}
    if outcome == SETTLED_FULFILLED:
        if order.line.delivers_code:
            if not card_code or len(card_code) > 64:
                raise SettleError(_("Enter the card code the provider's support gave (up to 64 characters)."))
            fields["card_code"] = card_code
            payload["card_code"] = mask_code(card_code)
        fields["processed_at"] = timezone.now()
        message = Note(gettext_noop("Settled by a supervisor: fulfilled, as OneClickDZ support said. Note: %(note)s"),
                       note=note[:150])
    else:
        message = Note(gettext_noop("Settled by a supervisor: refunded by OneClickDZ support. Note: %(note)s"),
                       note=note[:150])
    change = Change(order.pk, S.ATTENTION, SETTLE_OUTCOMES[outcome], fields, message, payload, order.send_attempts)
    if not lifecycle.apply_changes([change], actor):
        raise SettleError(_("The order changed meanwhile: look at it again."))
    audit.record(actor=actor, action="settle", target=order.ref, detail={"outcome": outcome, "note": note[:500]})
    log.info("order %s settled as %s by %s", order.ref, outcome, actor.label)
    return Order.objects.get(pk=order.pk)
