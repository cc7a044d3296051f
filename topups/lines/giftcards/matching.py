"""Which provider order, if any, is ours after a placeOrder whose answer was lost.

The reference's placeOrder takes no reference of ours and there is no check-by-ref, so when the
answer to a POST never came (a read timeout, a reset: the client's ``OutcomeUnknown``) the only way
to learn whether the order exists is to look for it: in ``/gift-cards/list`` for the attempt's
time window, and in the ledger, where every placed order leaves an ``ORDER`` debit (``objid`` the
order id) at once, even while the list lags behind.

``decide`` is that rule, pure and without I/O (no Django here): the caller walks the list and the
ledger, then asks. Four answers:

- ``ADOPT``: exactly one listed order matches the attempt and no other order of ours claims it;
  link it (it may still be HANDLING: follow it with checkOrder).
- ``AMBIGUOUS``: several unclaimed orders match (or one does, beside orders the list does not
  describe well enough to tell): a person must choose; never guess with money.
- ``NEVER_PLACED``: nothing matches, the list's lag has passed since the attempt, and the ledger,
  synced past the attempt, holds no debit that could be this order's and is not explained by
  another order. Only then may the attempt be closed as not placed (and placed again).
- ``WAIT``: anything else (the list may still be lagging, the ledger is not read far enough, or a
  debit of the expected amount is not explained yet): ask again later.

An order matches when its product, type and quantity are the attempt's and it was created within
the attempt's window widened by ``skew`` on both sides (the provider's clock is not ours).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

# How far the provider's clock may be from ours, on either side of an attempt's window.
DEFAULT_SKEW = timedelta(minutes=2)
ORDER_DEBIT = "ORDER"


class ProviderOrder(Protocol):
    """A gift-card order as the list returns it (``topups.oneclick.GiftOrder`` is one)."""

    @property
    def id(self) -> str: ...

    @property
    def product_id(self) -> str: ...

    @property
    def type_id(self) -> str: ...

    @property
    def quantity(self) -> int | None: ...

    @property
    def created_at(self) -> datetime | None: ...


class LedgerEntry(Protocol):
    """A ledger row (``topups.oneclick.Transaction`` or a stored copy of one)."""

    @property
    def type(self) -> str: ...

    @property
    def amount(self) -> Decimal | None: ...

    @property
    def objid(self) -> str: ...

    @property
    def time(self) -> datetime | None: ...


@dataclass(frozen=True)
class Attempt:
    """One placeOrder of ours whose outcome is unknown. ``started_at`` is just before the request
    left, ``ended_at`` when its answer was given up on; ``expected_debit`` is ``price × quantity``
    as we knew it (None: not known, then a debit of any amount counts)."""

    product_id: str
    type_id: str
    quantity: int
    started_at: datetime
    ended_at: datetime
    expected_debit: Decimal | None

    def __post_init__(self) -> None:
        if self.ended_at < self.started_at:
            raise ValueError("an attempt cannot end before it starts")

    def window(self, skew: timedelta = DEFAULT_SKEW) -> tuple[datetime, datetime]:
        """The times an order of this attempt may carry: also the ``from``/``to`` to walk the list
        and the ledger with."""
        return self.started_at - skew, self.ended_at + skew


class Verdict(enum.StrEnum):
    ADOPT = "ADOPT"
    NEVER_PLACED = "NEVER_PLACED"
    WAIT = "WAIT"
    AMBIGUOUS = "AMBIGUOUS"


@dataclass(frozen=True)
class Decision:
    """The verdict, the provider orders it is about (the one to adopt, or the ones to choose
    from), and why, in words for the order's history and the operator's log."""

    verdict: Verdict
    candidates: tuple[ProviderOrder, ...] = ()
    reason: str = ""

    @property
    def order(self) -> ProviderOrder | None:
        """The order to adopt (ADOPT only)."""
        return self.candidates[0] if self.verdict is Verdict.ADOPT else None


def _fits(order: ProviderOrder, attempt: Attempt, start: datetime, end: datetime) -> bool | None:
    """True: the order is the attempt's kind, in its window. False: it cannot be. None: the list
    leaves out what would tell (product, type, quantity or time missing) but nothing it says rules
    the order out."""
    known = True
    for said, ours in ((order.product_id, attempt.product_id), (order.type_id, attempt.type_id),
                       (order.quantity, attempt.quantity)):
        if said in (None, ""):
            known = False
        elif said != ours:
            return False
    if order.created_at is None:
        return None
    if not start <= order.created_at <= end:
        return False
    return True if known else None


def _unexplained_debits(attempt: Attempt, rows: Iterable[LedgerEntry], explained: set[str],
                        start: datetime, end: datetime) -> list[LedgerEntry]:
    """ORDER debits in the window that could be this attempt's: of the expected amount (any, when
    it is not known, or when the row's amount cannot be read) and not tied to an order that
    accounts for them."""
    found = []
    for row in rows:
        if row.type != ORDER_DEBIT:
            continue
        # A row whose time the API left out (or we could not read) came back from a walk of the
        # window: it may be this order's debit.
        if row.time is not None and not start <= row.time <= end:
            continue
        if row.objid and row.objid in explained:
            continue
        if attempt.expected_debit is not None and row.amount is not None and row.amount != attempt.expected_debit:
            continue
        found.append(row)
    return found


def decide(
    attempt: Attempt,
    *,
    listed: Iterable[ProviderOrder],
    claimed: Collection[str],
    ledger_rows: Iterable[LedgerEntry],
    ledger_synced_to: datetime | None,
    lag: timedelta,
    now: datetime,
    skew: timedelta = DEFAULT_SKEW,
) -> Decision:
    """What became of ``attempt``.

    ``listed``: the provider's gift orders from ``/gift-cards/list`` over (at least)
    ``attempt.window(skew)``, read just before ``now``. ``claimed``: provider order ids already
    linked to other orders of ours. ``ledger_rows``: the ledger's rows read so far (ORDER rows are
    enough; others are ignored), complete up to ``ledger_synced_to`` (None: not synced yet).
    ``lag``: how long a placed order may take to show in the list.
    """
    start, end = attempt.window(skew)
    listed = list(listed)
    matching, unclear = [], []
    for order in listed:
        if order.id in claimed:
            continue
        fits = _fits(order, attempt, start, end)
        if fits:
            matching.append(order)
        elif fits is None:
            unclear.append(order)

    if len(matching) == 1 and not unclear:
        return Decision(Verdict.ADOPT, (matching[0],),
                        f"provider order {matching[0].id} is the only unclaimed match")
    if matching:
        chosen = (*matching, *unclear)
        return Decision(Verdict.AMBIGUOUS, chosen,
                        f"{len(chosen)} provider orders could be this attempt: "
                        + ", ".join(order.id for order in chosen))
    if unclear:
        return Decision(Verdict.AMBIGUOUS, tuple(unclear),
                        "the list does not say enough to tell whether these orders are ours: "
                        + ", ".join(order.id for order in unclear))

    if now < attempt.ended_at + lag:
        return Decision(Verdict.WAIT, reason=f"the list may show the order only {lag} after it was placed")
    if ledger_synced_to is None or ledger_synced_to < end:
        return Decision(Verdict.WAIT, reason="the ledger is not read past the attempt yet")
    # A debit is accounted for by its order: one linked to another order of ours, or one the list
    # shows as not ours. A debit whose order the list does not show at all may be ours.
    explained = set(claimed) | {order.id for order in listed}
    debits = _unexplained_debits(attempt, ledger_rows, explained, start, end)
    if debits:
        return Decision(Verdict.WAIT, reason=f"{len(debits)} ORDER debit(s) in the window are not explained: "
                        + ", ".join(row.objid or "(no order id)" for row in debits))
    return Decision(Verdict.NEVER_PLACED,
                    reason="no order in the list and no unexplained debit in the ledger past the lag")


__all__ = ["DEFAULT_SKEW", "Attempt", "Decision", "LedgerEntry", "ProviderOrder", "Verdict", "decide"]
