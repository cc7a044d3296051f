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
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from topups.models import MobilePlan, Order, OrderStatus, Product, Service
from topups.notes import Note
from topups.numbers import normalise_number
from topups.oneclick import errors as api_errors
from topups.services import audit, dispatch, lifecycle, mobile, planning, pricing, tills
from topups.services.account import get_client
from topups.services.actors import Actor
from topups.services.channels import channel_of
from topups.services.lifecycle import Change

log = logging.getLogger("topups.orders")
S = OrderStatus
# A send requested but not started by then is dispatched again by the sync.
SEND_OVERDUE = timedelta(minutes=2)


class OrderInputError(ValueError):
    """An order that cannot be created as asked; the message is for staff."""


@dataclass(frozen=True)
class LineCheck:
    """What the API says of a line before an order is sent (the form's *Check number*)."""

    number: str
    ok: bool
    message: str
    ncli: str = ""
    offre: str = ""
    code: str = ""
    unavailable: bool = False  # the API could not answer: the order can still be sent


def check_line(*, line_type: str, number: str) -> LineCheck:
    """Normalise ``number`` (raises ValidationError with the expected form) and ask the API
    whether the line exists. A refusal of the number or an API problem is an answer, not an
    exception. The API's answer on the line (found, or refused) is given again for
    NUMBER_CHECK_CACHE_SECONDS without a second call; an outage is not remembered."""
    number = normalise_number(line_type, number)
    key = f"topups.line-check:{line_type}:{number}"
    known = cache.get(key) if settings.NUMBER_CHECK_CACHE_SECONDS else None
    if known is None:
        known = _ask_line(line_type, number)
        if isinstance(known, tuple) and settings.NUMBER_CHECK_CACHE_SECONDS:
            cache.set(key, known, timeout=settings.NUMBER_CHECK_CACHE_SECONDS)
    if isinstance(known, LineCheck):
        return known
    # The API's answer is kept as data and worded here, in the reader's language.
    found, first, second = known
    if not found:
        return LineCheck(number, False, second, code=first)
    return LineCheck(number, True, _("Line found: customer %(ncli)s, offer %(offre)s.")
                     % {"ncli": first, "offre": second or "—"}, ncli=first, offre=second)


def _ask_line(line_type: str, number: str) -> tuple[bool, str, str] | LineCheck:
    """The API's answer on a line: (True, ncli, offre), (False, code, the API's explanation), or
    the LineCheck of a problem that is not an answer on the line (key refused, API unavailable)."""
    try:
        result = get_client().check_number(line_type, number)
    except api_errors.PhoneError as exc:
        return False, exc.code, exc.explanation
    except api_errors.AuthError as exc:
        return LineCheck(number, False, _("The API key is refused: ask a supervisor."), code=exc.code,
                         unavailable=True)
    except api_errors.OneClickError as exc:
        log.warning("number check failed: %s", exc.code)
        return LineCheck(number, False, _("The number could not be checked now (%(code)s). You can still send.")
                         % {"code": exc.code}, code=exc.code, unavailable=True)
    return True, result.ncli, result.offre or ""


def create_order(
    *,
    line_type: str = "",
    number: str,
    value: Decimal | None,
    actor: Actor,
    service: str = Service.INTERNET,
    plan_code: str = "",
    ref: str | None = None,
    note: str = "",
    send: bool = False,
    products: list[Product] | None = None,
    plan: MobilePlan | None = None,
) -> tuple[Order, bool]:
    """Create an order and return it with ``created``; with ``send``, a new order is also handed
    to a send task at once (the order form).

    An internet card: ``line_type`` and ``value`` (a catalog value). A mobile top-up
    (``service="mobile"``): ``plan_code``, ``number`` (any form ``mobile.normalise_mobile``
    accepts) and ``value`` the amount (ignored for fixed and GETMENU plans), checked by
    ``mobile.check_mobile``.

    Passing the ``ref`` the form was rendered with makes the call idempotent: a double click or
    a resubmitted form returns the order the first request created instead of a second one (and
    sends nothing). ``products`` / ``plan``: catalog rows the caller already holds (the form's),
    searched before the database is.
    """
    if service == Service.MOBILE:
        order, price = _mobile_order(plan_code, number, value, plan)
    elif service == Service.INTERNET:
        order, price = _internet_order(line_type, number, value, products)
    else:
        raise OrderInputError(_("Unknown service %(service)s.") % {"service": service})
    if price.refused:
        raise OrderInputError(_("This card's price (%(price)s DA) is below its cost (%(cost)s DA): a supervisor "
                                "must allow it first.") % {"price": order.price, "cost": order.cost})
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


def _internet_order(line_type: str, number: str, value, products: list[Product] | None
                    ) -> tuple[Order, pricing.Quote]:
    number = normalise_number(line_type, number)
    value = Decimal(value)
    product = next((p for p in products or () if (p.line_type, p.value) == (line_type, value)), None)
    if product is None:
        product = Product.objects.filter(line_type=line_type, value=value).only("line_type", "value", "cost").first()
    cost = product.cost if product else None
    price = pricing.PriceBook().quote_for(line_type, value, cost)
    order = Order(service=Service.INTERNET, line_type=line_type, number=number, value=value, cost=cost,
                  price=price.price)
    return order, price


def _mobile_order(plan_code: str, number: str, value, plan: MobilePlan | None) -> tuple[Order, pricing.Quote]:
    try:
        checked = mobile.check_mobile(plan_code, number, value, plan=plan)
    except mobile.MobileInputError as exc:
        raise OrderInputError(str(exc)) from None
    price = pricing.PriceBook().quote_mobile(checked.plan.code, checked.amount, checked.cost)
    order = Order(service=Service.MOBILE, line_type="", plan_code=checked.plan.code, number=checked.number,
                  value=checked.amount, cost=checked.cost, price=price.price)
    return order, price


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


def close_never_sent(orders, *, actor: Actor) -> tuple[list[str], list[tuple[str, str]]]:
    """Close (cancel) orders needing attention that provably never reached the API; return
    (closed refs, (ref, why not) for the others).

    Proof, asked of the API now by reference, well after the last attempt (past the resend delay
    and the read replica's lag): check-ref answers NOT_FOUND, or it holds a *different* order under
    our ref (the ref is unique account-wide, so ours was never accepted under it). An order the API
    accepted (it has a top-up id) or holds is never closed: it is followed to its end instead.
    """
    now = timezone.now()
    quiet = max(timedelta(seconds=settings.ONECLICKDZ_RESEND_AFTER_SECONDS), planning.LOOKUP_LAG)
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
            topup = channel_of(order).check_ref(client, order.ref)
        except api_errors.NotFound as exc:
            proof = planning.error_payload(exc)
            note = Note(gettext_noop("Closed: the API does not know this reference; nothing was charged."))
        except api_errors.OneClickError as exc:
            refused.append((order.ref, _("the API could not be asked: %(error)s") % {"error": exc.message}))
            continue
        else:
            differences = planning.differences(order, topup)
            if not differences:
                lifecycle.apply_changes([planning.change_from_topup(order, topup, now)], actor)
                refused.append((order.ref, _("the API holds it (%(status)s)") % {"status": topup.status.value}))
                continue
            proof = {"api": planning.topup_payload(topup), "differences": differences}
            note = Note(gettext_noop(
                "Closed: the API holds a different order under this reference; ours was never accepted."))
        change = Change(order.pk, S.ATTENTION, S.CANCELLED, {"next_check_at": None, "send_requested_at": None},
                        note, proof, order.send_attempts)
        if lifecycle.apply_changes([change], actor):
            closed.append(order.ref)
        else:
            refused.append((order.ref, _("it changed meanwhile")))
    return closed, refused
