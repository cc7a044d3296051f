"""The simulated OneClickDZ account: its shared core, and ``Simulator``, which composes the core
with one part per product line.

The core (``AccountCore``) holds what every line shares: the balance and its ledger, the
account-wide ref registry and the orders of every line, the clock, faults, counters and the settling
of refunds. Each line's part is a mixin beside its endpoints: ``InternetTopups`` (``internet.py``),
``MobileTopups`` (``mobile.py``), ``GiftCards`` (``giftcards.py``). Two shared jobs have modules of their own: the keys and the IP
lockout (``KeyChecks``, ``access.py``) and the ledger's controls (``LedgerControls``,
``ledger.py``). A part keeps its own state by extending ``_reset_part``.

Everything lives in memory behind one lock, so the HTTP layer can serve requests from many threads
and a send is checked and debited atomically (two concurrent sends with the same ref create one
order, never two). Nothing here knows about HTTP: the service modules call these methods and turn
``ApiFailure`` into the error envelope.

The same object is the control interface tests use (``set_balance``, ``inject_fault``,
``advance``, ``stats``...); ``control.py`` exposes it over HTTP under ``/_sim/``.
"""

from __future__ import annotations

import copy
import math
import threading
from collections import Counter
from dataclasses import asdict, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from . import flexy
from .access import AUTH_FAILURE_REASONS, KeyChecks, KeyInfo, key_info
from .clock import Clock
from .config import LIST_SHAPES, MOBILE_DEBIT_RULES, Config, updated_config
from .faults import Fault, FaultBook
from .giftcards import GiftCards, default_gift_catalog
from .internet import (
    LINE_TYPES,
    InternetTopups,
    StockedCard,
    Topup,
    catalog_from,
    default_catalog,
    unknown_line,
)
from .ledger import LEDGER_MONEY_IN, LedgerControls
from .lifecycle import Outcome
from .mobile import MobileTopups
from .records import money, remember_spoil, to_millis, within
from .wire import ApiFailure, iso, new_id

DEMO_KEY = "demo-key"
DEFAULT_USERNAME = "+213665983439"
DEFAULT_BALANCE = Decimal("100000.00")
DEFAULT_OPERATORS = ("mobilis", "ooredoo", "djezzy", "mobilisFixedPlans")


class AccountCore:
    """What every product line of the account shares. Not used alone: ``Simulator`` mixes the
    lines' parts in front of it, and they reach the lock, balance, refs and ledger through ``self``."""

    def __init__(
        self,
        keys: dict[str, dict[str, Any] | None] | None = None,
        *,
        username: str = DEFAULT_USERNAME,
        balance: Any = DEFAULT_BALANCE,
        catalog: dict[str, dict[Any, Any]] | None = None,
        **config: Any,
    ) -> None:
        self._lock = threading.RLock()
        self.clock = Clock()
        self.username = username
        self._initial_keys = {key: key_info(key, spec) for key, spec in (keys or {DEMO_KEY: None}).items()}
        self._initial_balance = money(balance)
        self._initial_catalog = catalog_from(catalog) if catalog is not None else default_catalog()
        self._initial_gift_catalog = default_gift_catalog()
        self._initial_config = updated_config(Config(), config)
        self.reset()

    # -- control: state ------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the state given to the constructor: balance, catalogs, keys, config, clock."""
        with self._lock:
            self.clock.reset()
            self._reset_part()

    def _reset_part(self) -> None:
        """The core's own state; each line's part extends this (calling ``super()`` first)."""
        self._config = replace(self._initial_config)
        self._balance = self._initial_balance
        self._ledger: list[dict[str, Any]] = []
        self._ledger_times: list[datetime] = []  # the rows' times, in order (bisected by from/to)
        self._ledger_sorted = True
        self._topups: dict[str, Any] = {}  # every order of every line, by id
        self._order: list[str] = []  # ids in creation order
        self._refs: dict[str, str] = {}  # ref -> topup id, account-wide
        self._pending_refunds: set[str] = set()
        self._outcomes_by_number: dict[str, Any] = {}
        self._outcomes_by_ref: dict[str, Any] = {}
        self._faults = FaultBook()
        self._last_generated_ms = 0
        self._health = {"api": "ok", "operators": dict.fromkeys(DEFAULT_OPERATORS, "up")}
        self._calls: Counter[str] = Counter()
        self._auth_failures: Counter[str] = Counter()
        self._faults_fired: Counter[str] = Counter()
        self._ref_attempts: Counter[str] = Counter()
        self._spoiled_refs: dict[str, dict[str, Any]] = {}
        self._orders_per_ref: Counter[str] = Counter()
        self._total_debited = Decimal(0)
        self._total_refunded = Decimal(0)
        self._charge_overrides: dict[str, Decimal] = {}  # ref -> amount debited instead of the cost

    @property
    def balance(self) -> Decimal:
        with self._lock:
            self._settle()
            return self._balance

    def set_balance(self, amount: Any) -> Decimal:
        """Set the balance; the change is written to the ledger as DEPOSIT or WITHDRAW so the
        ledger always explains the balance."""
        amount = money(amount)
        if amount < 0:
            raise ValueError("the balance cannot be negative")
        with self._lock:
            self._settle()
            change = amount - self._balance
            if change:
                kind, operation = ("DEPOSIT", "increment") if change > 0 else ("WITHDRAW", "decrement")
                self._move(abs(change), kind, operation, objid="", note="simulator: balance set",
                           moment=self.clock.now())
            return self._balance

    @property
    def config(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._config)

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change timings and behaviour switches; new timings apply to orders created afterwards."""
        with self._lock:
            self._config = updated_config(self._config, changes)
            return asdict(self._config)

    def set_outcome(self, *, outcome: str | Outcome, number: str | None = None, ref: str | None = None) -> None:
        """Force the outcome of future orders for a line number or a ref (ref wins over number):
        an internet ``Outcome`` or a mobile ``flexy.MobileOutcome`` (FULFILLED and REFUNDED are both)."""
        outcome = _any_outcome(outcome)
        if (number is None) == (ref is None):
            raise ValueError("give exactly one of number= or ref=")
        with self._lock:
            if number is not None:
                self._outcomes_by_number[number] = outcome
            else:
                self._outcomes_by_ref[ref] = outcome

    def clear_outcomes(self) -> None:
        with self._lock:
            self._outcomes_by_number.clear()
            self._outcomes_by_ref.clear()

    def set_health(self, *, api: str | None = None, operators: dict[str, str] | None = None) -> dict[str, Any]:
        if api is not None and api not in ("ok", "error"):
            raise ValueError("api must be 'ok' or 'error'")
        for flag in (operators or {}).values():
            if flag not in ("up", "down"):
                raise ValueError("operator flags must be 'up' or 'down'")
        with self._lock:
            if api is not None:
                self._health["api"] = api
            self._health["operators"].update(operators or {})
            return copy.deepcopy(self._health)

    def health(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._health)

    # -- control: clock and faults ---------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> datetime:
        """Move the simulator clock forward; lifecycles and IP blocks follow it."""
        with self._lock:
            self.clock.advance(seconds)
            self._settle()
            return self.clock.now()

    def inject_fault(self, endpoint: str, kind: str, *, count: int = 1, latency_ms: float = 0.0,
                     hang_seconds: float = 30.0) -> None:
        """Spoil the next ``count`` calls of ``endpoint`` ('*' = any endpoint) with ``kind``."""
        with self._lock:
            self._faults.inject(endpoint, Fault(kind, float(latency_ms), float(hang_seconds)), int(count))

    def set_fault_mix(self, endpoint: str, mix: dict[str, float], *, seed: int | None = None,
                      extra_latency_ms: tuple[float, float] | None = None, latency_ms: float = 250.0,
                      hang_seconds: float = 30.0) -> None:
        """Each call of ``endpoint`` draws at most one fault from ``mix`` ({kind: probability}),
        plus a random extra latency in ``extra_latency_ms`` (low, high) if given. Seeded, so a
        chaos run can be replayed."""
        with self._lock:
            self._faults.set_mix(endpoint, mix, seed=seed, extra_latency_ms=extra_latency_ms,
                                 latency_ms=float(latency_ms), hang_seconds=float(hang_seconds))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def spoil_topup(self, ref: str, fields: dict[str, Any] | None) -> None:
        """Make every answer about the top-up with ``ref`` (check-id, check-ref, list) show
        ``fields`` instead of the real ones; a None value removes the field. For example
        ``{"card_code": None}``: FULFILLED without its code; ``{"topup_amount": "N/A"}``: an item a
        client cannot read. Applies to an order placed later with that ref too; ``fields=None``
        (or ``{}``) puts the real answer back."""
        with self._lock:
            remember_spoil(self._spoiled_refs, ref, fields)
            topup_id = self._refs.get(ref)
            if topup_id is not None:
                self._topups[topup_id].spoiled = self._spoiled_refs.get(ref)

    def faults(self) -> dict[str, Any]:
        with self._lock:
            return self._faults.describe()

    def take_fault(self, endpoint: str) -> tuple[Fault | None, float]:
        """Called by the HTTP layer once per call: the fault to apply and extra latency (ms)."""
        with self._lock:
            fault, extra = self._faults.take(endpoint)
            if fault is not None:
                self._faults_fired[fault.kind] += 1
            return fault, extra

    # -- control: reading --------------------------------------------------------------------------

    def count_call(self, endpoint: str) -> None:
        with self._lock:
            self._calls[endpoint] += 1

    def note_ref_attempt(self, ref: str) -> None:
        """Count a send that carried ``ref``, whatever happens to it (fault, refusal, success)."""
        with self._lock:
            self._ref_attempts[ref] += 1

    def stats(self) -> dict[str, Any]:
        """Money-safety figures: per-ref orders and attempts, money moved, calls, auth failures."""
        with self._lock:
            self._settle()
            now = self.clock.time()
            statuses = Counter(t.view(now)["status"] for t in self._topups.values())
            refs = sorted(set(self._ref_attempts) | set(self._orders_per_ref))
            return {
                "balance": self._balance,
                "opening_balance": self._initial_balance,
                "total_debited": self._total_debited,
                "total_refunded": self._total_refunded,
                "orders": len(self._topups),
                "orders_by_status": dict(statuses),
                "refs": {ref: {"orders": self._orders_per_ref[ref], "attempts": self._ref_attempts[ref]}
                         for ref in refs},
                "max_orders_per_ref": max(self._orders_per_ref.values(), default=0),
                "calls": dict(self._calls),
                "auth_failures": {
                    **{reason: self._auth_failures[reason] for reason in AUTH_FAILURE_REASONS},
                    "total": sum(self._auth_failures.values()),
                },
                "faults_fired": dict(self._faults_fired),
                "ledger_rows": len(self._ledger),
                "clock": iso(self.clock.now()),
                "clock_offset": self.clock.offset,
            }

    def net_debits(self) -> dict[str, Decimal]:
        """What each ref costs the account now: its order's cost, less what was refunded (0 once a
        top-up is refunded). A gift-card order placed without a ref is keyed by its order id."""
        with self._lock:
            self._settle()
            debits = {ref: self._topups[topup_id].net_debit for ref, topup_id in self._refs.items()}
            debits.update({order.id: order.net_debit for order in self._topups.values() if not order.ref})
            return debits

    def ledger(self) -> list[dict[str, Any]]:
        """Ledger rows oldest first (the API lists them newest first)."""
        with self._lock:
            self._settle()
            return copy.deepcopy(self._ledger)

    def orders(self) -> list[dict[str, Any]]:
        """Every top-up as check-id would show it now, oldest first."""
        with self._lock:
            self._settle()
            now = self.clock.time()
            return [self._topups[topup_id].view(now) for topup_id in self._order]

    # -- the API -------------------------------------------------------------------------------------

    def _accept(self, topup, ledger_type: str, *, note: str) -> None:
        """Record an accepted order of any line (the lock is held): its ref, its refund to come, and
        its debit with the ledger row (none for an order that charges nothing)."""
        self._topups[topup.id] = topup
        self._order.append(topup.id)
        if topup.ref:  # a gift-card order may have none
            self._refs[topup.ref] = topup.id
            self._orders_per_ref[topup.ref] += 1
        if topup.refund_due is not None:
            self._pending_refunds.add(topup.id)
        if topup.cost:
            self._total_debited += topup.cost
            self._move(topup.cost, ledger_type, "decrement", objid=topup.id, note=note, moment=topup.created_at)

    def _check_affordable(self, amount: Decimal) -> None:
        if amount > self._balance:
            raise ApiFailure(403, "INSUFFICIENT_BALANCE", "Your balance is insufficient for this operation",
                             {"required": amount, "available": self._balance})

    def _order_time(self) -> float:
        """Now on the clock, in whole milliseconds: the client sees created_at to the ms, and from/to
        filters must compare the same value it sees."""
        return math.floor(self.clock.time() * 1000) / 1000

    def _check_ref_unused(self, ref: str | None) -> None:
        if ref is not None and ref in self._refs:
            raise ApiFailure(403, "DUPLICATED_REF", "This reference ID is already in use", {"ref": ref})

    def _generate_ref(self, now: float) -> str:
        # API-<username>-<epoch ms>, bumped by a millisecond when two sends share one.
        millis = max(int(now * 1000), self._last_generated_ms + 1)
        while f"API-{self.username}-{millis}" in self._refs:
            millis += 1
        self._last_generated_ms = millis
        return f"API-{self.username}-{millis}"

    def topup_by_id(self, topup_id: str, service: str = "internet") -> dict[str, Any]:
        return self._order_view(topup_id, service, f"Top-up with id '{topup_id}' not found")

    def _order_view(self, order_id: str, service: str, missing: str) -> dict[str, Any]:
        """The order ``order_id`` of ``service`` as it reads now, or 404 NOT_FOUND saying ``missing``."""
        with self._lock:
            self._settle()
            order = self._topups.get(order_id)
            if order is None or order.service != service:
                raise ApiFailure(404, "NOT_FOUND", missing)
            return order.view(self.clock.time())

    def topup_by_ref(self, ref: str, service: str = "internet") -> dict[str, Any]:
        with self._lock:
            self._settle()
            topup_id = self._refs.get(ref)
            if topup_id is None or self._topups[topup_id].service != service:
                raise ApiFailure(404, "NOT_FOUND", f"Top-up with reference '{ref}' not found")
            return self._topups[topup_id].view(self.clock.time())

    def list_topups(self, start: datetime | None, end: datetime | None, service: str = "internet"
                    ) -> list[dict[str, Any]]:
        """Top-ups of ``service`` created in [start, end] (both inclusive), newest first."""
        with self._lock:
            self._settle()
            now = self.clock.time()
            chosen = [t for t in (self._topups[i] for i in reversed(self._order)) if t.service == service]
            return [t.view(now) for t in chosen if within(t.created_at, start, end)]

    # -- money -----------------------------------------------------------------------------------------

    def _move(self, amount: Decimal, kind: str, operation: str, *, objid: str | None, note: str,
              moment: datetime) -> dict[str, Any]:
        moment = to_millis(moment)
        if self._ledger_times and moment < self._ledger_times[-1]:
            # A refund settled late (it fell due between this call's settling and its own row's
            # time): written after a newer row, it takes that row's time, so the ledger read by
            # time is the balance chain, as the provider's books are.
            moment = self._ledger_times[-1]
        old = self._balance
        new = old + amount if operation == "increment" else old - amount
        self._balance = new
        row = {
            "_id": new_id(), "type": kind, "operation": operation, "amount": amount,
            "oldBalance": old, "newBalance": new, "objid": objid, "note": note, "time": moment,
        }
        if objid is None:
            del row["objid"]
        self._ledger.append(row)
        self._ledger_times.append(moment)
        return row

    def _settle(self) -> None:
        """Credit back every order whose refund has fallen due (REFUNDED; PARTIALLY_FILLED for a gift
        order, its undelivered cards), once, in the order they fell due.

        Called under the lock by every read and write, so the balance never lags the statuses."""
        if not self._pending_refunds:
            return
        now = self.clock.time()
        due = sorted((self._topups[i] for i in self._pending_refunds if self._topups[i].refund_due <= now),
                     key=lambda t: t.refund_due)
        for topup in due:
            self._pending_refunds.discard(topup.id)
            topup.refunded = True
            self._total_refunded += topup.refund_amount
            self._move(topup.refund_amount, topup.refund_type, "increment", objid=topup.id,
                       note=topup.refund_note, moment=datetime.fromtimestamp(topup.refund_due, UTC))


def _any_outcome(value: Any) -> Outcome | flexy.MobileOutcome:
    try:
        return Outcome(value)
    except ValueError:
        return flexy.MobileOutcome(value)


class Simulator(InternetTopups, MobileTopups, GiftCards, LedgerControls, KeyChecks, AccountCore):
    """One simulated reseller account, shared by all its keys (sandbox and production alike)."""


__all__ = ["DEMO_KEY", "LEDGER_MONEY_IN", "LINE_TYPES", "LIST_SHAPES", "MOBILE_DEBIT_RULES", "Config",
           "KeyInfo", "Simulator", "StockedCard", "Topup", "money", "to_millis", "unknown_line"]
