"""Sending one order to the API, at most once.

1. The reference was stored when the order was created, before anything is sent.
2. ``claim`` moves the order to SENDING under its row lock, so two workers or two clicks cannot
   both send it.
3. After an ambiguous failure the order is never POSTed again blindly: it becomes UNKNOWN and is
   looked up by its reference (``sync``). Only when the API says NOT_FOUND, well after the failed
   attempt, is it claimed again (``planning.may_resend``) and sent with the same reference, which
   DUPLICATED_REF protects.
4. A dropped database connection (a failover, a restart) is a pause: the claim and the outcome's
   status write are tried again on a new connection (``reconnect.retrying``; each is conditional,
   so never written twice), and an order whose send stopped on the database before the POST goes
   back to NEW, to be sent again at once (outcome ``retry_now``).
Every outcome is a status change through ``lifecycle``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from topups import lines
from topups.models import Order, OrderEvent, OrderStatus, Product
from topups.notes import Note, refusal_note
from topups.oneclick import errors as api_errors
from topups.services import lifecycle, planning, reconnect
from topups.services.account import get_client
from topups.services.actors import Actor
from topups.services.planning import error_payload

log = logging.getLogger("topups.orders")
S = OrderStatus
# An order whose send stopped on the database (before its POST) is due again this soon.
DATABASE_RETRY_DELAY = timedelta(seconds=2)
# An order its line holds back at the claim (``ProductLine.blocks_claim``) is due again this soon.
BLOCKED_RETRY_DELAY = timedelta(seconds=1)
# A claim held back by its line is tried again within the same send for this long, this often.
BLOCKED_WAIT_SECONDS = 3.0
BLOCKED_POLL_SECONDS = 0.1
HELD_BACK = object()


@dataclass(frozen=True)
class SendReport:
    ref: str
    outcome: str  # sent | refused | unknown | retry | retry_now | not_claimed | adopted | attention
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
    # A claim cut by a dropped connection rolled back (or committed once): safe to try again.
    claimed = reconnect.retrying(lambda: claim(order_id, actor), what=f"the claim of order {order_id}",
                                 seconds=_database_budget(deadline))
    waited = 0.0
    while claimed is HELD_BACK and waited < BLOCKED_WAIT_SECONDS and (
            deadline is None or time.monotonic() + BLOCKED_POLL_SECONDS + worst_case_send_seconds() < deadline):
        # Held back by its line while another order it could be mistaken for is in flight: that one
        # is usually answered within a call or two, so wait for it here rather than a sweeper's cycle.
        time.sleep(BLOCKED_POLL_SECONDS)
        waited += BLOCKED_POLL_SECONDS
        claimed = reconnect.retrying(lambda: claim(order_id, actor), what=f"the claim of order {order_id}",
                                     seconds=_database_budget(deadline))
    if claimed is HELD_BACK or claimed is None:
        order = Order.objects.filter(pk=order_id).only("ref", "status").first()
        ref, status = (order.ref, order.status) if order else (str(order_id), "")
        why = (_("Not sent yet: another order of the same kind is being sent; it follows at once.")
               if claimed is HELD_BACK else _("Not sent: the order is not waiting to be sent."))
        return SendReport(ref, "not_claimed", status, why)
    attempt = _Attempt(*claimed, actor=actor, deadline=deadline)
    order, client, line = attempt.order, get_client(), lines.of(attempt.order)
    try:
        if attempt.first_send and line.checks_line:
            refusal = attempt.pre_send_checks(client)
            if refusal is not None:
                return refusal
    except reconnect.DATABASE_ERRORS as exc:
        return attempt.not_sent(exc)  # the database failed before the POST: nothing left for the API
    try:
        result = line.send(client, order)
    except api_errors.DuplicatedRef as exc:
        # Our ref is already known: an earlier attempt did reach the API. Adopt that order.
        if deadline is not None and time.monotonic() + call_seconds() > deadline:
            return attempt.unknown(exc)  # no time left to look it up: the sync will
        return attempt.adopt(exc)
    except (*api_errors.ORDER_REFUSALS, api_errors.InvalidRequest) as exc:
        # InvalidRequest: the client refused the order before anything left the machine.
        return attempt.refuse(exc) if attempt.first_send else attempt.refused_on_resend(exc)
    except (api_errors.TransportError, api_errors.RateLimited, api_errors.ConfigurationError,
            api_errors.AuthError) as exc:
        # Certainly not processed by the API: back to wait, tried again later.
        return attempt.not_sent(exc)
    except Exception as exc:  # OutcomeUnknown, or anything unexpected after the POST left
        return attempt.unknown(exc)
    accepted_as = line.accepted_status
    attempt.finish(S.HANDLING, Note(gettext_noop("Accepted by the API")), {"topupId": result.topup_id, "topupRef": result.topup_ref},
                   topup_id=result.topup_id, api_status=accepted_as.value,
                   next_check_at=planning.first_look(timezone.now()))
    log.info("order %s sent, topup id %s", order.ref, result.topup_id)
    return SendReport(order.ref, "sent", S.HANDLING)


def _database_budget(deadline: float | None) -> float:
    """How long a write may wait for the database to answer again: DB_RETRY_SECONDS, within the
    calling task's deadline (a task killed meanwhile leaves its order to the lease, as always)."""
    if deadline is None:
        return settings.DB_RETRY_SECONDS
    return max(0.0, min(settings.DB_RETRY_SECONDS, deadline - time.monotonic()))


def claim(order_id: int, actor: Actor) -> tuple[Order, bool] | None | object:
    """Atomically move the order to SENDING. Returns (order, first_send), None if it is not
    waiting to be sent (already claimed, sent, final, or a resend that is not yet safe), or
    HELD_BACK when its line holds it back for now (``ProductLine.blocks_claim``).

    The same read brings the catalog row's stock and cost (the first send's check), so a send
    reads the order once."""
    now = timezone.now()
    lease = timedelta(seconds=settings.ONECLICKDZ_SENDING_LEASE_SECONDS)
    product = Product.objects.filter(line_type=OuterRef("line_type"), value=OuterRef("value"))
    with transaction.atomic():
        order = (Order.objects.select_for_update().filter(pk=order_id)
                 .annotate(product_available=Subquery(product.values("available")[:1]),
                           product_cost=Subquery(product.values("cost")[:1])).first())
        if order is None:
            return None
        resend = planning.may_resend(order, now)
        if order.status != S.NEW and not (resend and lines.of(order).may_send_again(order)):
            return None
        if lines.of(order).blocks_claim(order):
            # Its line holds it back for now (another order it could be mistaken for is in flight):
            # due again in a few seconds, the sweeper hands it to a sender then.
            Order.objects.filter(pk=order.pk).update(next_check_at=now + BLOCKED_RETRY_DELAY)
            return HELD_BACK
        change = lifecycle.Change(
            order.pk, order.status, S.SENDING,
            # A new attempt restarts the NOT_FOUND clock: an answer before it says nothing of this POST.
            {"sent_at": now, "send_attempts": order.send_attempts + 1, "next_check_at": now + lease,
             "not_found_since": None},
            Note(gettext_noop("Sending again with the same reference")) if resend else "", attempt=order.send_attempts)
        if not lifecycle.apply_changes([change], actor, locked={order.pk: order}):
            return None
    return order, not resend


@dataclass
class _Attempt:
    """One claimed send and its outcome. What the number check learnt (customer number, offer,
    current cost) is written with whatever status change ends the attempt."""

    order: Order
    first_send: bool
    actor: Actor
    deadline: float | None = None  # the calling task's (time.monotonic())
    checked: dict = field(default_factory=dict)

    def finish(self, to_status: str, note: str = "", payload: dict | None = None, **fields) -> None:
        """Write the attempt's outcome; on a dropped connection, again on a new one (the move is
        conditional on the status and attempt it was decided under: never written twice)."""
        reconnect.retrying(lambda: lifecycle.move(self.order, to_status, self.actor, note=note, payload=payload,
                                                  **self.checked, **fields),
                           what=f"the outcome of order {self.order.ref}", seconds=_database_budget(self.deadline))

    def pre_send_checks(self, client) -> SendReport | None:
        """The cached catalog and the API's number check, before the first POST."""
        order = self.order
        if order.product_available is not None and not order.product_available:
            message = _("This card value is out of stock.")
            self.finish(S.REFUSED, refusal_note("ERR_STOCK"), refusal_code="ERR_STOCK", refusal_message=message,
                        next_check_at=None)
            return SendReport(order.ref, "refused", S.REFUSED, message)
        try:
            ncli, offre = checked_line(client, order.line_type, order.number)
        except (api_errors.PhoneError, api_errors.InvalidRequest) as exc:
            return self.refuse(exc)
        except api_errors.OneClickError as exc:
            # The check is a GET: nothing happened at the API. Try the whole send again later.
            return self.back_to_new(exc)
        self.checked = {"ncli": ncli[:32], "offre": offre[:64],
                        "cost": order.product_cost if order.product_cost is not None else order.cost}
        return None

    def refuse(self, exc: api_errors.OneClickError) -> SendReport:
        """A first send turned down (by the API, or by the client before the POST): nothing debited."""
        code = exc.code if not isinstance(exc, api_errors.InvalidRequest) else api_errors.ValidationFailed.default_code
        self.finish(S.REFUSED, refusal_note(code), error_payload(exc), refusal_code=code,
                    refusal_message=exc.message[:255], next_check_at=None)
        log.info("order %s refused: %s", self.order.ref, exc.code)
        return SendReport(self.order.ref, "refused", S.REFUSED, exc.message)

    def refused_on_resend(self, exc: api_errors.OneClickError) -> SendReport:
        """A refusal answered to a resend proves nothing about the earlier attempt, which may have
        been debited (the docs do not promise DUPLICATED_REF is checked before stock and balance):
        a person must look. Both answers go into the history."""
        earlier = (OrderEvent.objects.filter(order_id=self.order.pk, to_status=S.UNKNOWN).order_by("-pk")
                   .values_list("payload", flat=True).first())
        note = Note(gettext_noop("Refused when sent again (%(code)s), but an earlier attempt may have been debited: "
                                 "check with OneClickDZ before anything else."), code=exc.code)
        self.finish(S.ATTENTION, note, {"refusal": error_payload(exc), "earlier": earlier},
                    next_check_at=timezone.now() + planning.ATTENTION_POLL)
        log.warning("order %s refused on resend (%s): needs attention", self.order.ref, exc.code)
        return SendReport(self.order.ref, "attention", S.ATTENTION, note)

    def not_sent(self, exc: Exception) -> SendReport:
        """This POST certainly did not reach the API. A first send waits as NEW; a resend stays a
        resend (UNKNOWN), since an earlier attempt may have reached the API."""
        if self.first_send:
            return self.back_to_new(exc)
        message = _describe_problem(exc)
        self.finish(S.UNKNOWN, message, error_payload(exc), next_check_at=timezone.now() + timedelta(seconds=30),
                    send_attempts=max(self.order.send_attempts - 1, 0))
        log.warning("order %s not sent again, still checking by reference: %s", self.order.ref, exc)
        return SendReport(self.order.ref, "unknown", S.UNKNOWN, message)

    def back_to_new(self, exc: Exception) -> SendReport:
        now = timezone.now()
        age = now - (self.order.send_requested_at or now)
        delay = min(max(age / 4, timedelta(seconds=15)), timedelta(minutes=10))
        database = reconnect.caused_by_database(exc)
        if database:
            # The database, not the API, failed (and answers again, since this is written): the
            # sender sends it again at once; the sweeper, if that sender is lost, within seconds.
            delay = DATABASE_RETRY_DELAY
        elif isinstance(exc, (api_errors.AuthError, api_errors.ConfigurationError)):
            delay = timedelta(minutes=10)
        message = _describe_problem(exc)
        # Give back the attempt: this POST never reached the API.
        self.finish(S.NEW, message, error_payload(exc), next_check_at=now + delay,
                    send_attempts=max(self.order.send_attempts - 1, 0))
        log.warning("order %s not sent, will retry: %s", self.order.ref, exc)
        return SendReport(self.order.ref, "retry_now" if database else "retry", S.NEW, message)

    def unknown(self, exc: Exception, *, duplicated: api_errors.DuplicatedRef | None = None) -> SendReport:
        """No clear answer: checked by reference. ``duplicated``: the API answered DUPLICATED_REF
        before the lookup failed; kept in the history, it is evidence the API may hold the order
        (``planning.api_may_hold``)."""
        note = Note(gettext_noop("No clear answer from the API; checking by reference. It will not be sent twice."))
        payload = error_payload(exc)
        if duplicated is not None:
            payload["duplicatedRef"] = error_payload(duplicated)
        self.finish(S.UNKNOWN, note, payload,
                    next_check_at=timezone.now() + timedelta(seconds=10))
        log.warning("order %s outcome unknown after send: %r", self.order.ref, exc)
        return SendReport(self.order.ref, "unknown", S.UNKNOWN, note)

    def adopt(self, duplicated: api_errors.DuplicatedRef) -> SendReport:
        """DUPLICATED_REF: look the order up by its ref and take its state (if it is ours)."""
        try:
            topup = lines.of(self.order).check_ref(get_client().single_try(), self.order.ref)
        except Exception as exc:
            return self.unknown(exc, duplicated=duplicated)
        change = lines.of(self.order).change_from_answer(self.order, topup, timezone.now())
        change.fields.update(self.checked)
        reconnect.retrying(lambda: lifecycle.apply_changes([change], self.actor),
                           what=f"the adoption of order {self.order.ref}",
                           seconds=_database_budget(self.deadline))
        log.info("order %s already known to the API: adopted as %s", self.order.ref, change.to_status)
        return SendReport(self.order.ref, "adopted", change.to_status, str(duplicated))


def checked_line(client, line_type: str, number: str) -> tuple[str, str]:
    """(customer number, offer) of a line from the API's number check, reused for the same line
    for ``ONECLICKDZ_NUMBER_CHECK_REUSE_SECONDS``: a send put back to wait and tried again, or
    several orders for one line, cost one check. Only an accepted line is remembered."""
    reuse = settings.ONECLICKDZ_NUMBER_CHECK_REUSE_SECONDS
    key = number_check_key(line_type, number)
    known = cache.get(key) if reuse else None
    if known is not None:
        return tuple(known)
    check = client.single_try().check_number(line_type, number)
    if reuse:
        cache.set(key, (check.ncli, check.offre), timeout=reuse)
    return check.ncli, check.offre


def number_check_key(line_type: str, number: str) -> str:
    return f"topups.number-check:{line_type}:{number}"


DATABASE_LOST = gettext_noop("The database connection was lost before sending; the order is sent again at once.")


def _describe_problem(exc: Exception) -> str:
    if reconnect.caused_by_database(exc):
        return Note(DATABASE_LOST)
    if isinstance(exc, api_errors.ConfigurationError):
        return Note(gettext_noop("No API key is configured."))
    if isinstance(exc, api_errors.AuthError):
        return Note(gettext_noop("The API refused the key: %(reason)s"), reason=getattr(exc, "message", str(exc)))
    if isinstance(exc, api_errors.RateLimited):
        return Note(gettext_noop("The API asked us to slow down; the order will be sent shortly."))
    return Note(gettext_noop("The API could not be reached; the order will be sent when it answers."))
