"""The ledger as ``/account/transactions`` lists it, and the controls that make it disagree with
the dashboard on purpose (what reconciliation must catch): an order charged another amount, a
refund nobody announced, rows the API forgets to list or sends unreadable, movements of any type.

``LedgerControls`` is mixed into ``Simulator``; the rows themselves are written by the core's
``_move`` (``state.py``), which keeps them in time order.
"""

from __future__ import annotations

import bisect
import copy
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import lifecycle
from .records import money, remember_spoil, spoiled, within

# Ledger row types (section 2.3): a row of another type is written as money out unless listed here.
LEDGER_MONEY_IN = ("DEPOSIT", "REFUND-FLEXY", "REFUND-ADSL", "REFUND-ORDER", "RECEIVE", "POINT-EXCHANGE")


class LedgerControls:
    """Reading the ledger a page at a time, and spoiling it. The lock, the rows and the balance are
    the core's (``state.AccountCore``)."""

    def _reset_part(self) -> None:
        super()._reset_part()
        self._hidden_rows: set[str] = set()  # ledger row ids the API "forgets" to list
        self._spoiled_rows: dict[str, dict[str, Any]] = {}  # ledger row id -> fields shown instead

    def transactions(self, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
        """Ledger rows with a time in [start, end], newest first."""
        rows, _total = self.transactions_page(start, end)
        return rows

    def transactions_page(self, start: datetime | None, end: datetime | None, first: int = 0,
                          count: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """Rows ``first`` to ``first + count`` of the ledger rows with a time in [start, end],
        newest first (copies), and how many there are. Rows are kept in time order, so the
        window is found by bisection: a page costs the same with 100 rows or 100,000."""
        with self._lock:
            self._settle()
            if self._ledger_sorted:
                low = 0 if start is None else bisect.bisect_left(self._ledger_times, start)
                high = len(self._ledger) if end is None else bisect.bisect_right(self._ledger_times, end)
                window = self._ledger[low:high]
            else:
                window = sorted((row for row in self._ledger if within(row["time"], start, end)),
                                key=lambda row: row["time"])
            if self._hidden_rows:
                window = [row for row in window if row["_id"] not in self._hidden_rows]
            total = len(window)
            stop = total - first
            chosen = window[max(stop - count, 0) if count is not None else 0:max(stop, 0)]
            return [spoiled(row, self._spoiled_rows.get(row["_id"])) for row in reversed(chosen)], total

    def spoil_ledger_row(self, row_id: str, fields: dict[str, Any] | None) -> None:
        """Make /account/transactions show ``fields`` in the row ``row_id`` (a None value removes
        the field): ``{"amount": "N/A"}`` is a row a client cannot read. ``None`` undoes it."""
        with self._lock:
            remember_spoil(self._spoiled_rows, row_id, fields)

    # -- control: what reconciliation must catch ---------------------------------------------------

    def charge_differently(self, ref: str, amount: Any) -> None:
        """The order sent later with ``ref`` is debited ``amount`` instead of its catalog cost (its
        refund, if any, credits that amount back)."""
        amount = money(amount)
        if amount <= 0:
            raise ValueError("the amount must be positive")
        with self._lock:
            self._charge_overrides[ref] = amount

    def refund_topup(self, ref: str, *, amount: Decimal | None = None) -> dict[str, Any]:
        """Refund the order with ``ref`` now, whatever its status (a FULFILLED card taken back):
        its cost (or ``amount``, a provider refunding another sum) is credited with a
        ``REFUND-ADSL`` row and check-id / check-ref / list show it REFUNDED from now on. Nobody
        tells the client: only the ledger and a status check do."""
        with self._lock:
            self._settle()
            topup_id = self._refs.get(ref)
            if topup_id is None:
                raise ValueError(f"no order with ref {ref!r}")
            topup = self._topups[topup_id]
            if topup.refunded or topup_id in self._pending_refunds:
                raise ValueError(f"the order {ref!r} is already refunded or being refunded")
            now = self.clock.time()
            topup.steps = (*[(offset, status) for offset, status in topup.steps if offset < now - topup.created],
                           (now - topup.created, lifecycle.REFUNDED))
            topup.refunded = True
            credit = topup.cost if amount is None else money(amount)
            self._total_refunded += credit
            self._move(credit, topup.refund_type, "increment", objid=topup.id, note=topup.refund_note,
                       moment=self.clock.now())
            return topup.view(now)

    def hide_ledger_rows(self, *, ref: str | None = None, row_id: str | None = None,
                         type: str | None = None) -> list[str]:
        """Leave rows out of /account/transactions (the balance keeps them: the chain breaks
        there): the row ``row_id``, or the rows of the order with ``ref`` (of ``type`` only, if
        given). Returns the ids hidden."""
        if (ref is None) == (row_id is None):
            raise ValueError("give exactly one of ref= or row_id=")
        with self._lock:
            self._settle()
            if ref is not None:
                topup_id = self._refs.get(ref)
                if topup_id is None:
                    raise ValueError(f"no order with ref {ref!r}")
                ids = [row["_id"] for row in self._ledger
                       if row["objid"] == topup_id and (type is None or row["type"] == type)]
            else:
                ids = [row["_id"] for row in self._ledger if row["_id"] == row_id]
            if not ids:
                raise ValueError("no such ledger row")
            self._hidden_rows.update(ids)
            return ids

    def add_ledger_row(self, *, type: str, amount: Any, objid: str | None = None, note: str = "") -> dict[str, Any]:
        """Write a movement of any ``type`` (``DEPOSIT``, ``SEND``, ``POINT-EXCHANGE``, a type the
        docs do not list...): money in for the documented money-in types, out otherwise. The balance
        moves with it. ``objid=None`` leaves the field out of the row."""
        amount = money(amount)
        if amount <= 0:
            raise ValueError("the amount must be positive")
        with self._lock:
            self._settle()
            operation = "increment" if type in LEDGER_MONEY_IN else "decrement"
            if operation == "decrement" and amount > self._balance:
                raise ValueError("the balance cannot go negative")
            row = self._move(amount, type, operation, objid=objid, note=note, moment=self.clock.now())
            return copy.deepcopy(row)
