"""The cashier's cash session (till): open with the cash in the drawer, sell (orders attach to the
open till, see ``attach``), close by counting the cash, then a supervisor approves or reopens it.

Expected cash = opening cash + sales - money handed back, where every order of the till is a sale
(the shop takes the money at entry) and the orders in ``HANDED_BACK_STATUSES`` (refunded, refused,
cancelled) are money handed back. Orders not final at the close (processing, queued, checking,
needs attention) are counted as sales and listed as carried over.

Two closes at once: the till row is locked and the close is a conditional UPDATE (still OPEN), so
one wins and the other is told. An order is attached under the same row lock, so it cannot land in
a till being closed: it waits, then finds no open till.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from topups.models import FINAL_STATUSES, Order, Till, TillStatus
from topups.selectors_books import money_figures
from topups.services import audit
from topups.services.actors import Actor
from topups.services.pricing import parse_amount

T = TillStatus


class TillError(ValueError):
    """A till action that cannot be done now (closed meanwhile, none open...): its message is shown."""


@dataclass
class TillFigures:
    opening_cash: Decimal
    orders: int = 0
    sales: Decimal = Decimal(0)
    handed_back: Decimal = Decimal(0)
    handed_back_count: int = 0
    carried_over: list[str] = field(default_factory=list)

    @property
    def expected_cash(self) -> Decimal:
        return self.opening_cash + self.sales - self.handed_back


def figures(till: Till) -> TillFigures:
    """The till's figures now, computed in the database (two queries whatever the orders)."""
    totals = Order.objects.filter(till=till).aggregate(**money_figures())
    revenue, back = totals["revenue"] or Decimal(0), totals["refunds"] or Decimal(0)
    open_refs = list(Order.objects.filter(till=till).exclude(status__in=FINAL_STATUSES)
                     .order_by("created_at", "pk").values_list("ref", flat=True))
    return TillFigures(opening_cash=till.opening_cash, orders=totals["orders"], sales=revenue + back,
                       handed_back=back, handed_back_count=totals["refund_count"],
                       carried_over=open_refs)


def till_required() -> bool:
    return settings.TILL_REQUIRED


def open_till_of(user_id: int | None) -> Till | None:
    return Till.objects.filter(cashier_id=user_id, status=T.OPEN).first() if user_id else None


def open_till(*, actor: Actor, opening_cash, request=None) -> Till:
    """Open the cashier's session with the cash in the drawer; one open session per cashier."""
    cash = parse_amount(opening_cash)
    try:
        with transaction.atomic():
            till = Till.objects.create(cashier_id=actor.user_id, opening_cash=cash)
            audit.record(actor=actor, action="till_open", target=f"till {till.pk}",
                         detail={"opening_cash": str(cash)}, request=request)
    except IntegrityError:
        raise TillError(_("You already have an open cash session.")) from None
    return till


NO_SESSION = gettext_lazy("Open your cash session before selling (Cash session page).")


def session_missing(user_id: int | None) -> bool:
    """Whether this user may not sell now: a session is required (TILL_REQUIRED) and none is open.
    The one rule of every way an order is made: the counter, the admin's form and a bulk file."""
    return user_id is not None and till_required() and open_till_of(user_id) is None


def attach(actor: Actor) -> Till | None:
    """The actor's open till, locked until the caller's transaction ends (call inside it), for an
    order being created. Raises TillError when a till is required and none is open (or it is being
    closed: the lock waits for the close, which leaves no open till)."""
    if actor.user_id is None:
        return None
    till = Till.objects.select_for_update().filter(cashier_id=actor.user_id, status=T.OPEN).first()
    if till is None and till_required():
        raise TillError(str(NO_SESSION))
    return till


def close_till(*, till_id: int, counted_cash, actor: Actor, request=None) -> Till:
    """Close an open till with the cash counted; stores the figures. Raises ValidationError for a
    missing or bad amount, TillError when the till is not open (closed meanwhile by someone else)."""
    if counted_cash in (None, ""):
        raise ValidationError(_("Enter the cash counted in the drawer."))
    counted = parse_amount(counted_cash)
    with transaction.atomic():
        till = Till.objects.select_for_update().filter(pk=till_id).first()
        if till is None or till.status != T.OPEN:
            raise TillError(_("This cash session is already closed."))
        numbers = figures(till)
        now = timezone.now()
        values = {"status": T.CLOSED, "closed_at": now, "closed_by_id": actor.user_id, "sales": numbers.sales,
                  "handed_back": numbers.handed_back, "expected_cash": numbers.expected_cash,
                  "counted_cash": counted, "carried_over": numbers.carried_over}
        if not Till.objects.filter(pk=till.pk, status=T.OPEN).update(**values):
            raise TillError(_("This cash session is already closed."))
        for name, value in values.items():
            setattr(till, name, value)
        audit.record(actor=actor, action="till_close", target=f"till {till.pk}", request=request, detail={
            "expected_cash": str(numbers.expected_cash), "counted_cash": str(counted),
            "difference": str(counted - numbers.expected_cash), "carried_over": len(numbers.carried_over)})
    return till


def approve_till(*, till_id: int, actor: Actor, request=None) -> Till:
    """A supervisor approves a closed till."""
    now = timezone.now()
    with transaction.atomic():
        if not Till.objects.filter(pk=till_id, status=T.CLOSED).update(
                status=T.APPROVED, approved_by_id=actor.user_id, approved_at=now):
            raise TillError(_("Only a closed cash session can be approved."))
        audit.record(actor=actor, action="till_approve", target=f"till {till_id}", request=request)
    return Till.objects.get(pk=till_id)


def reopen_till(*, till_id: int, actor: Actor, request=None) -> Till:
    """A supervisor reopens a closed or approved till (its cashier must have no other open one)."""
    try:
        with transaction.atomic():
            if not Till.objects.filter(pk=till_id, status__in=[T.CLOSED, T.APPROVED]).update(
                    status=T.OPEN, closed_at=None, closed_by=None, approved_by=None, approved_at=None,
                    counted_cash=None, expected_cash=None, sales=None, handed_back=None, carried_over=[]):
                raise TillError(_("This cash session is already open."))
            audit.record(actor=actor, action="till_reopen", target=f"till {till_id}", request=request)
    except IntegrityError:
        raise TillError(_("The cashier has another open cash session: close it first.")) from None
    return Till.objects.get(pk=till_id)
