"""The cashier's cash session (till): open with the cash in the drawer, sell (orders attach to the
open till, see ``attach``), close by counting the cash, then a supervisor approves or reopens it.

Expected cash = opening cash + sales - money handed back, where every order of the till is a sale
(the shop takes the money at entry) and money handed back is the till's ``HandBack`` entries: an
order moving to one of ``HANDED_BACK_STATUSES`` (refunded, refused, cancelled, card taken back) is
booked, by the status door itself (``book_hand_backs``), in the session open at that moment: its
own while it is open, else the session of whoever hands it back, else its cashier's (or, none
being open, the cashier's next one). So a refund that arrives after its session closed is counted
once, in the session whose drawer paid it, and every session adds up to the dinar. Orders not final
at the close (processing, queued, checking, needs attention) are counted as sales and listed as
carried over. A closed session keeps the figures stored at its close, per service too.

Four eyes on money: nobody approves or reopens a session they sold in or closed (``decides_own``);
a reopen keeps the close it undoes as a ``TillClose`` row (counted, expected, who, when), so a
recount never erases the first count. A close may carry the cashier's explanation of a
difference, an approval the supervisor's note.

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
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from topups.inputs import parse_amount
from topups.models import FINAL_STATUSES, HandBack, Order, Till, TillClose, TillStatus
from topups.selectors.books import service_figures
from topups.services import audit
from topups.services.actors import Actor

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
    """The till's figures now, computed in the database (three queries whatever the orders): its
    orders' prices, the money handed back booked in it (for its own orders or earlier sessions')."""
    totals = Order.objects.filter(till=till).aggregate(orders=Count("pk"), sales=Sum("price"))
    back = HandBack.objects.filter(till=till).aggregate(total=Sum("amount"), count=Count("pk"))
    open_refs = list(Order.objects.filter(till=till).exclude(status__in=FINAL_STATUSES)
                     .order_by("created_at", "pk").values_list("ref", flat=True))
    return TillFigures(opening_cash=till.opening_cash, orders=totals["orders"], sales=totals["sales"] or Decimal(0),
                       handed_back=back["total"] or Decimal(0), handed_back_count=back["count"],
                       carried_over=open_refs)


def book_hand_backs(orders: list[tuple[Order, Decimal]], actor: Actor) -> list[HandBack]:
    """Book the money handed back for ``orders`` (each with the amount its line says the move hands
    back: the price, when the status door has just moved it to one of ``HANDED_BACK_STATUSES``; the
    undelivered part of a gift-card order partly filled), in the caller's transaction: one entry per
    order sold in a session with a price, in the session open now (the order's own, else the
    actor's, else its cashier's; none: booked when that cashier opens the next one, see
    ``open_till``). The sessions are locked, so an entry never lands in a session being closed. An
    order handed back once is never booked again (one entry per order); a menu request (GETMENU,
    price 0) sold nothing and is never booked."""
    amounts = {o.pk: amount for o, amount in orders if amount}
    due = [o for o, _amount in orders if o.till_id and o.price and o.pk in amounts and not o.is_menu]
    if not due:
        return []
    origins = {t.pk: t for t in Till.objects.filter(pk__in={o.till_id for o in due}).only("pk", "cashier_id", "status")}
    cashiers = {t.cashier_id for t in origins.values()} | ({actor.user_id} if actor.user_id else set())
    open_by_cashier = {t.cashier_id: t for t in Till.objects.select_for_update().filter(
        status=T.OPEN, cashier_id__in=cashiers).order_by("pk")}
    done = set(HandBack.objects.filter(order__in=due).values_list("order_id", flat=True))
    now = timezone.now()
    entries = []
    for order in due:
        if order.pk in done:
            continue
        origin = origins[order.till_id]
        target = (open_by_cashier.get(origin.cashier_id) if origin.status == T.OPEN else None) \
            or open_by_cashier.get(actor.user_id) or open_by_cashier.get(origin.cashier_id)
        entries.append(HandBack(order=order, origin_till_id=origin.pk, till=target, amount=amounts[order.pk],
                                status=order.status, actor_label=actor.label[:64], created_at=now,
                                booked_at=now if target else None))
    HandBack.objects.bulk_create(entries, batch_size=500)
    return entries


def till_required() -> bool:
    return settings.TILL_REQUIRED


def open_till_of(user_id: int | None, *, lock: bool = False) -> Till | None:
    """The user's open till, if any; with ``lock``, locked until the caller's transaction ends."""
    if not user_id:
        return None
    query = Till.objects.select_for_update() if lock else Till.objects
    return query.filter(cashier_id=user_id, status=T.OPEN).first()


def open_till(*, actor: Actor, opening_cash, request=None) -> Till:
    """Open the cashier's session with the cash in the drawer; one open session per cashier."""
    cash = parse_amount(opening_cash)
    try:
        with transaction.atomic():
            till = Till.objects.create(cashier_id=actor.user_id, opening_cash=cash)
            # Money handed back while none of the cashier's sessions was open is paid from this drawer.
            HandBack.objects.filter(till__isnull=True, origin_till__cashier_id=actor.user_id).update(
                till=till, booked_at=timezone.now())
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
    till = open_till_of(actor.user_id, lock=True)
    if till is None and till_required():
        raise TillError(str(NO_SESSION))
    return till


NOTE_MAX = 500


def _note(text) -> str:
    return str(text or "").strip()[:NOTE_MAX]


def close_till(*, till_id: int, counted_cash, actor: Actor, note: str = "", request=None) -> Till:
    """Close an open till with the cash counted (and, optionally, the cashier's explanation of a
    difference); stores the figures. Raises ValidationError for a missing or bad amount, TillError
    when the till is not open (closed meanwhile by someone else)."""
    if counted_cash in (None, ""):
        raise ValidationError(_("Enter the cash counted in the drawer."))
    counted = parse_amount(counted_cash)
    note = _note(note)
    with transaction.atomic():
        till = Till.objects.select_for_update().filter(pk=till_id).first()
        if till is None or till.status != T.OPEN:
            raise TillError(_("This cash session is already closed."))
        numbers = figures(till)
        now = timezone.now()
        values = {"status": T.CLOSED, "closed_at": now, "closed_by_id": actor.user_id, "sales": numbers.sales,
                  "handed_back": numbers.handed_back, "expected_cash": numbers.expected_cash,
                  "counted_cash": counted, "carried_over": numbers.carried_over, "close_note": note,
                  "by_service": service_figures(till)}
        if not Till.objects.filter(pk=till.pk, status=T.OPEN).update(**values):
            raise TillError(_("This cash session is already closed."))
        for name, value in values.items():
            setattr(till, name, value)
        audit.record(actor=actor, action="till_close", target=f"till {till.pk}", request=request, detail={
            "expected_cash": str(numbers.expected_cash), "counted_cash": str(counted),
            "difference": str(counted - numbers.expected_cash), "carried_over": len(numbers.carried_over),
            "note": note})
    return till


def decides_own(till: Till, user_id: int | None) -> bool:
    """Whether ``user_id`` had a hand in the session's money: its cashier, who sold in it, or who
    closed it (now or in an earlier close). Such a person may not approve or reopen it."""
    if user_id is None:
        return False
    return (user_id in (till.cashier_id, till.closed_by_id)
            or Order.objects.filter(till=till, created_by_id=user_id).exists()
            or TillClose.objects.filter(till=till, closed_by_id=user_id).exists())


def _locked_for_decision(till_id: int, actor: Actor) -> Till:
    """The till, locked, once the four-eyes rule allows ``actor`` to decide on it."""
    till = Till.objects.select_for_update().filter(pk=till_id).first()
    if till is None:
        raise TillError(_("No such cash session."))
    if decides_own(till, actor.user_id):
        raise TillError(_("You sold in or closed this cash session: another supervisor must approve or reopen it."))
    return till


def approve_till(*, till_id: int, actor: Actor, note: str = "", request=None) -> Till:
    """A supervisor approves a closed till (not one they sold in or closed), with an optional note."""
    now = timezone.now()
    note = _note(note)
    with transaction.atomic():
        _locked_for_decision(till_id, actor)
        if not Till.objects.filter(pk=till_id, status=T.CLOSED).update(
                status=T.APPROVED, approved_by_id=actor.user_id, approved_at=now, approval_note=note):
            raise TillError(_("Only a closed cash session can be approved."))
        audit.record(actor=actor, action="till_approve", target=f"till {till_id}", detail={"note": note},
                     request=request)
    return Till.objects.get(pk=till_id)


def reopen_till(*, till_id: int, actor: Actor, request=None) -> Till:
    """A supervisor reopens a closed or approved till (not one they sold in or closed; its cashier
    must have no other open one). The close it undoes is kept as a TillClose row."""
    try:
        with transaction.atomic():
            till = _locked_for_decision(till_id, actor)
            if till.status not in (T.CLOSED, T.APPROVED):
                raise TillError(_("This cash session is already open."))
            TillClose.objects.create(till=till, reopened_at=timezone.now(), reopened_by_id=actor.user_id,
                                     **{name: getattr(till, name) for name in Till.RECORD_FIELDS})
            Till.objects.filter(pk=till_id).update(
                status=T.OPEN, closed_at=None, closed_by=None, approved_by=None, approved_at=None,
                counted_cash=None, expected_cash=None, sales=None, handed_back=None, carried_over=[],
                by_service=[], close_note="", approval_note="")
            audit.record(actor=actor, action="till_reopen", target=f"till {till_id}", request=request)
    except IntegrityError:
        raise TillError(_("The cashier has another open cash session: close it first.")) from None
    return Till.objects.get(pk=till_id)
