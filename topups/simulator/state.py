"""The simulated OneClickDZ account: keys, balance, ledger, catalog, top-ups, faults and counters.

Everything lives in memory behind one lock, so the HTTP layer can serve requests from many threads
and a send is checked and debited atomically (two concurrent sends with the same ref create one
order, never two). Nothing here knows about HTTP: the service modules call these methods and turn
``ApiFailure`` into the error envelope.

The same object is the control interface tests use (``set_balance``, ``inject_fault``,
``advance``, ``stats``...); ``control.py`` exposes it over HTTP under ``/_sim/``.
"""

from __future__ import annotations

import bisect
import copy
import math
import threading
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import flexy, lifecycle
from .clock import Clock
from .faults import Fault, FaultBook
from .lifecycle import Outcome, Timings
from .wire import ApiFailure, iso, new_id

DEMO_KEY = "demo-key"
DEFAULT_USERNAME = "+213665983439"
DEFAULT_BALANCE = Decimal("100000.00")
MAX_KEY_FAILURES = 5
LINE_TYPES = ("ADSL", "4G")
KEY_TYPES = ("SANDBOX", "PRODUCTION")
KEY_SCOPES = ("READ-WRITE", "READ-ONLY")
LIST_SHAPES = ("topups", "items")
# Ledger row types (section 2.3): a row of another type is written as money out unless listed here.
LEDGER_MONEY_IN = ("DEPOSIT", "REFUND-FLEXY", "REFUND-ADSL", "REFUND-ORDER", "RECEIVE", "POINT-EXCHANGE")
DEFAULT_OPERATORS = ("mobilis", "ooredoo", "djezzy", "mobilisFixedPlans")
MOBILE_DEBIT_RULES = ("multiplier", "full")
AUTH_FAILURE_REASONS = ("missing", "invalid", "blocked", "ip_not_allowed")


def money(amount: Any) -> Decimal:
    """A Decimal from an int, str or Decimal; floats go through str so 0.1 stays 0.1."""
    if isinstance(amount, bool):
        raise ValueError("an amount cannot be a boolean")
    return amount if isinstance(amount, Decimal) else Decimal(str(amount))


@dataclass
class StockedCard:
    """A value the simulator sells: its cost and whether it is in stock."""

    cost: Decimal
    available: bool = True


def default_catalog() -> dict[str, dict[Decimal, StockedCard]]:
    """The cards sold per line type: value -> cost (2 % discount) and stock flag."""
    adsl = {Decimal(v): StockedCard(Decimal(v) * Decimal("0.98")) for v in (500, 1000, 2000, 3000, 5000)}
    adsl[Decimal(5000)].available = False
    lte = {Decimal(v): StockedCard(Decimal(v) * Decimal("0.98")) for v in (1000, 1500, 2000, 3000, 4000)}
    return {"ADSL": adsl, "4G": lte}


@dataclass(frozen=True)
class KeyInfo:
    type: str = "SANDBOX"
    scope: str = "READ-WRITE"
    allowed_ips: tuple[str, ...] = ()
    masked: str = "****"


def _key_info(key: str, spec: dict[str, Any] | None) -> KeyInfo:
    spec = spec or {}
    key_type = spec.get("type", "SANDBOX")
    scope = spec.get("scope", "READ-WRITE")
    if not key:
        raise ValueError("a key cannot be empty")
    if key_type not in KEY_TYPES:
        raise ValueError(f"key type must be one of {KEY_TYPES}")
    if scope not in KEY_SCOPES:
        raise ValueError(f"key scope must be one of {KEY_SCOPES}")
    # /validate shows the key; we show only its last 4 characters so it never travels back in full.
    masked = "*" * 8 + key[-4:] if len(key) >= 12 else "*" * 8
    return KeyInfo(key_type, scope, tuple(spec.get("allowed_ips", ())), masked)


@dataclass
class Config:
    fulfil_after: float = 3.0
    queue_for: float = 120.0
    slow_after: float = 60.0
    latency_ms: float = 0.0
    list_shape: str = "topups"
    missing_token_status: int = 401
    block_seconds: float = 900.0
    # Check the ref last (after stock and balance): the docs do not promise DUPLICATED_REF first,
    # so a resend may meet a refusal although an earlier attempt was debited.
    duplicate_check_last: bool = False
    # How /account/transactions answers: "items" (data.items + data.pagination, as documented) or
    # "topups" (the internet list's other documented shape: meta.pagination); and whether amounts
    # and balances travel as JSON strings ("980.00") rather than numbers.
    ledger_shape: str = "items"
    ledger_amounts_as_strings: bool = False
    # Mobile top-ups: PENDING for mobile_pending_for s, final at fulfil_after s; an UNKNOWN_ERROR
    # resolves mobile_unknown_for s later. The debit: "multiplier" (amount × the plan's cost, the
    # full amount for a plan without cost) or "full" (the amount: the docs' examples disagree).
    # Whether the send's answer carries newBalance (only one docs page shows it).
    mobile_pending_for: float = 1.0
    mobile_unknown_for: float = 3600.0
    mobile_debit: str = "multiplier"
    mobile_send_new_balance: bool = True

    def check(self) -> None:
        for name in ("fulfil_after", "queue_for", "slow_after", "latency_ms", "block_seconds",
                     "mobile_pending_for", "mobile_unknown_for"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.list_shape not in LIST_SHAPES:
            raise ValueError(f"list_shape must be one of {LIST_SHAPES}")
        if self.ledger_shape not in LIST_SHAPES:
            raise ValueError(f"ledger_shape must be one of {LIST_SHAPES}")
        if not isinstance(self.ledger_amounts_as_strings, bool):
            raise ValueError("ledger_amounts_as_strings must be true or false")
        if self.missing_token_status not in (400, 401):
            raise ValueError("missing_token_status must be 400 or 401")
        if not isinstance(self.duplicate_check_last, bool):
            raise ValueError("duplicate_check_last must be true or false")
        if self.mobile_debit not in MOBILE_DEBIT_RULES:
            raise ValueError(f"mobile_debit must be one of {MOBILE_DEBIT_RULES}")
        if not isinstance(self.mobile_send_new_balance, bool):
            raise ValueError("mobile_send_new_balance must be true or false")


def _updated_config(config: Config, changes: dict[str, Any]) -> Config:
    unknown = set(changes) - {f.name for f in fields(Config)}
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    changes = dict(changes)
    # Numbers may arrive as Decimal (JSON over /_sim/) or int; the lifecycle maths wants floats.
    for name in ("fulfil_after", "queue_for", "slow_after", "latency_ms", "block_seconds",
                 "mobile_pending_for", "mobile_unknown_for"):
        if name in changes:
            changes[name] = float(changes[name])
    if "missing_token_status" in changes:
        changes["missing_token_status"] = int(changes["missing_token_status"])
    candidate = replace(config, **changes)
    candidate.check()
    return candidate


@dataclass
class Topup:
    id: str
    ref: str
    type: str
    number: str
    value: Decimal
    cost: Decimal
    created: float
    steps: tuple[tuple[float, str], ...]
    key_type: str
    refunded: bool = False
    spoiled: dict[str, Any] | None = None  # fields to replace (None: remove) in every view
    service = "internet"
    refund_type = "REFUND-ADSL"

    @property
    def refund_note(self) -> str:
        return f"Refund {self.type} {self.value} DA {self.number}"

    @property
    def net_debit(self) -> Decimal:
        return Decimal(0) if self.refunded else self.cost

    @property
    def created_at(self) -> datetime:
        return to_millis(datetime.fromtimestamp(self.created, UTC))

    @property
    def refund_due(self) -> float | None:
        """Clock time at which this order becomes REFUNDED, or None if it never does."""
        final_offset, final_status = self.steps[-1]
        return self.created + final_offset if final_status == lifecycle.REFUNDED else None

    def view(self, now: float) -> dict[str, Any]:
        """The top-up object as check-id, check-ref and list return it."""
        status, reached = lifecycle.status_at(self.steps, now - self.created)
        data: dict[str, Any] = {
            "_id": self.id,
            "ref": self.ref,
            "status": status,
            "type": self.type,
            "number": self.number,
            "topup_amount": self.value,
        }
        if status == lifecycle.FULFILLED:
            processed_at = self.created_at + timedelta(seconds=reached)
            data.update(lifecycle.card_fields(self.id, processed_at))
            data["date_traitement"] = iso(processed_at)
        data["created_at"] = iso(self.created_at)
        return _replace_fields(data, self.spoiled)


class Simulator:
    """One simulated reseller account, shared by all its keys (sandbox and production alike)."""

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
        self._initial_keys = {key: _key_info(key, spec) for key, spec in (keys or {DEMO_KEY: None}).items()}
        self._initial_balance = money(balance)
        self._initial_catalog = self._catalog_from(catalog) if catalog is not None else default_catalog()
        self._initial_config = _updated_config(Config(), config)
        self.reset()

    @staticmethod
    def _catalog_from(catalog: dict[str, dict[Any, Any]]) -> dict[str, dict[Decimal, StockedCard]]:
        # Accepts {type: {value: cost}} or {type: {value: (cost, available)}}.
        result: dict[str, dict[Decimal, StockedCard]] = {}
        for line_type, products in catalog.items():
            result[line_type] = {}
            for value, spec in products.items():
                cost, available = spec if isinstance(spec, tuple | list) else (spec, True)
                result[line_type][money(value)] = StockedCard(money(cost), bool(available))
        return result

    # -- control: state ------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the state given to the constructor: balance, catalog, keys, config, clock."""
        with self._lock:
            self.clock.reset()
            self._keys = dict(self._initial_keys)
            self._config = replace(self._initial_config)
            self._catalog = copy.deepcopy(self._initial_catalog)
            self._plans = flexy.default_plans()
            self._balance = self._initial_balance
            self._ledger: list[dict[str, Any]] = []
            self._ledger_times: list[datetime] = []  # the rows' times, in order (bisected by from/to)
            self._ledger_sorted = True
            self._topups: dict[str, Topup] = {}
            self._order: list[str] = []  # ids in creation order
            self._refs: dict[str, str] = {}  # ref -> topup id, account-wide
            self._pending_refunds: set[str] = set()
            self._outcomes_by_number: dict[str, Outcome] = {}
            self._outcomes_by_ref: dict[str, Outcome] = {}
            self._faults = FaultBook()
            self._failures: Counter[str] = Counter()
            self._blocked_until: dict[str, float] = {}
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
            self._hidden_rows: set[str] = set()  # ledger row ids the API "forgets" to list
            self._spoiled_rows: dict[str, dict[str, Any]] = {}  # ledger row id -> fields shown instead

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

    def add_key(self, key: str, *, type: str = "SANDBOX", scope: str = "READ-WRITE",
                allowed_ips: tuple[str, ...] | list[str] = ()) -> None:
        with self._lock:
            self._keys[key] = _key_info(key, {"type": type, "scope": scope, "allowed_ips": allowed_ips})

    def _product(self, line_type: str, value: Any) -> StockedCard:
        try:
            return self._catalog[line_type][money(value)]
        except KeyError:
            raise ValueError(f"no {line_type} product with value {value}") from None

    def set_stock(self, type: str, value: Any, available: bool) -> None:
        with self._lock:
            self._product(type, value).available = bool(available)

    def set_cost(self, type: str, value: Any, cost: Any) -> None:
        with self._lock:
            self._product(type, value).cost = money(cost)

    def add_product(self, type: str, value: Any, cost: Any, available: bool = True) -> None:
        if type not in LINE_TYPES:
            raise ValueError(f"type must be one of {LINE_TYPES}")
        with self._lock:
            self._catalog.setdefault(type, {})[money(value)] = StockedCard(money(cost), bool(available))

    def remove_product(self, type: str, value: Any) -> None:
        with self._lock:
            self._product(type, value)
            del self._catalog[type][money(value)]

    def _plan(self, code: str) -> flexy.Plan:
        try:
            return self._plans[code]
        except KeyError:
            raise ValueError(f"no mobile plan {code!r}") from None

    def set_plan(self, code: str, **changes: Any) -> dict[str, Any]:
        """Change a mobile plan: ``enabled``, ``cost`` (None: not sent), ``min_amount``,
        ``max_amount``, ``amount``, ``name``."""
        with self._lock:
            plan = self._plan(code)
            for name, value in changes.items():
                if name not in ("enabled", "cost", "min_amount", "max_amount", "amount", "name"):
                    raise ValueError(f"unknown plan field {name!r}")
                if name in ("cost", "min_amount", "max_amount", "amount") and value is not None:
                    value = money(value)
                setattr(plan, name, value)
            return plan.view()

    def remove_plan(self, code: str) -> None:
        """The API stops listing a plan (a send with its code is then refused)."""
        with self._lock:
            self._plan(code)
            del self._plans[code]

    def mobile_plans(self) -> dict[str, Any]:
        with self._lock:
            return flexy.plans_view(self._plans)

    @property
    def config(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._config)

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change timings and behaviour switches; new timings apply to orders created afterwards."""
        with self._lock:
            self._config = _updated_config(self._config, changes)
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
            _remember_spoil(self._spoiled_refs, ref, fields)
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
        """What each ref costs the account now: its order's cost, or 0 once refunded (or when the
        API holds no order for it)."""
        with self._lock:
            self._settle()
            return {ref: self._topups[topup_id].net_debit for ref, topup_id in self._refs.items()}

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

    def authenticate(self, key: str | None, ip: str) -> KeyInfo:
        """Check the key and the caller's IP; raises ApiFailure with the API's auth codes.

        Failed keys are counted per IP. The 5th failure still answers 401 (attemptsLeft 0) and
        starts the block; every call from that IP is then refused with 403 IP_BLOCKED until the
        block ends, even with a good key. The count restarts when the block ends.
        """
        with self._lock:
            now = self.clock.time()
            blocked_until = self._blocked_until.get(ip)
            if blocked_until is not None:
                if now < blocked_until:
                    self._auth_failures["blocked"] += 1
                    raise ApiFailure(403, "IP_BLOCKED", "Too many failed attempts: this IP is temporarily blocked",
                                     {"retryAfter": math.ceil(blocked_until - now)})
                del self._blocked_until[ip]
                self._failures[ip] = 0
            if not key:
                self._auth_failures["missing"] += 1
                raise ApiFailure(self._config.missing_token_status, "MISSING_ACCESS_TOKEN", "Access token is required")
            info = self._keys.get(key)
            if info is None:
                self._auth_failures["invalid"] += 1
                self._failures[ip] += 1
                attempts_left = max(MAX_KEY_FAILURES - self._failures[ip], 0)
                if attempts_left == 0:
                    self._blocked_until[ip] = now + self._config.block_seconds
                raise ApiFailure(401, "INVALID_ACCESS_TOKEN", "The provided access token is invalid",
                                 {"attemptsLeft": attempts_left})
            if info.allowed_ips and ip not in info.allowed_ips:
                self._auth_failures["ip_not_allowed"] += 1
                raise ApiFailure(403, "IP_NOT_ALLOWED", "Your IP address is not allowed to use this API key",
                                 {"ip": ip})
            return info

    def products(self, line_type: str) -> list[dict[str, Any]]:
        with self._lock:
            catalog = self._catalog.get(line_type, {})
            return [{"value": value, "cost": p.cost, "available": p.available}
                    for value, p in sorted(catalog.items())]

    def _outcome_for(self, number: str, ref: str | None) -> Outcome:
        if ref is not None and ref in self._outcomes_by_ref:
            return self._outcomes_by_ref[ref]
        return self._outcomes_by_number.get(number) or lifecycle.outcome_for_number(number)

    def line_exists(self, number: str) -> bool:
        with self._lock:
            return self._outcome_for(number, None) is not Outcome.UNKNOWN_LINE

    def send_topup(self, *, line_type: str, number: str, value: Decimal, ref: str | None,
                   key: KeyInfo) -> Topup:
        """Accept an order: checks, debit and ledger row in one locked step.

        The ref is checked first, before stock and balance, so a client re-sending after a lost
        answer always learns DUPLICATED_REF rather than a refusal it could mistake for "not sent"
        (unless ``duplicate_check_last`` is set: the docs do not promise that order).
        """
        with self._lock:
            self._settle()
            if not self._config.duplicate_check_last:
                self._check_ref_unused(ref)
            outcome = self._outcome_for(number, ref)
            if outcome is Outcome.UNKNOWN_LINE:
                raise unknown_line(number, line_type)
            product = self._catalog.get(line_type, {}).get(value)
            if product is None:
                raise ApiFailure(400, "ERR_VALIDATION", "body/value must be one of the product values for this type",
                                 {"field": "value", "value": value})
            if not product.available:
                raise ApiFailure(400, "ERR_STOCK", "This card value is out of stock",
                                 {"type": line_type, "value": value})
            if product.cost > self._balance:
                raise ApiFailure(403, "INSUFFICIENT_BALANCE", "Your balance is insufficient for this operation",
                                 {"required": product.cost, "available": self._balance})
            if self._config.duplicate_check_last:
                self._check_ref_unused(ref)
            # Whole milliseconds: the client sees created_at to the ms, and from/to filters must
            # compare the same value it sees.
            now = math.floor(self.clock.time() * 1000) / 1000
            if ref is None:
                ref = self._generate_ref(now)
            timings = Timings(self._config.fulfil_after, self._config.queue_for, self._config.slow_after)
            charged = self._charge_overrides.pop(ref, product.cost)
            topup = Topup(id=new_id(), ref=ref, type=line_type, number=number, value=value, cost=charged,
                          created=now, steps=lifecycle.timeline(outcome, timings), key_type=key.type,
                          spoiled=self._spoiled_refs.get(ref))
            self._accept(topup, "ADSL", note=f"{line_type} {value} DA {number}")
            return replace(topup)

    def send_mobile(self, *, plan_code: str, number: str, amount: Decimal | None, ref: str | None,
                    key: KeyInfo) -> flexy.MobileTopup:
        """Accept a mobile top-up: the plan's rules, the ref, the balance, the debit (FLEXY row)
        in one locked step. A GETMENU plan charges nothing and answers the number's offers."""
        with self._lock:
            self._settle()
            plan = self._plans.get(plan_code)
            if plan is None:
                raise ApiFailure(400, "ERR_VALIDATION", "body/plan_code must be one of the plan codes",
                                 {"field": "plan_code", "value": plan_code})
            if not plan.enabled:
                raise ApiFailure(400, "ERR_VALIDATION", f"The plan {plan_code} is not available at the moment",
                                 {"field": "plan_code", "value": plan_code})
            if not number.startswith(flexy.NETWORK_PREFIX.get(plan.network, "0")):
                raise ApiFailure(400, "ERR_VALIDATION", f"MSSIDN does not belong to the plan's operator ({plan.network})",
                                 {"field": "MSSIDN", "value": number})
            amount = self._mobile_amount(plan, amount)
            if not self._config.duplicate_check_last:
                self._check_ref_unused(ref)
            charged = self._mobile_debit(plan, amount)
            if charged > self._balance:
                raise ApiFailure(403, "INSUFFICIENT_BALANCE", "Your balance is insufficient for this operation",
                                 {"required": charged, "available": self._balance})
            if self._config.duplicate_check_last:
                self._check_ref_unused(ref)
            now = math.floor(self.clock.time() * 1000) / 1000
            if ref is None:
                ref = self._generate_ref(now)
            outcome = self._mobile_outcome(plan, number, ref)
            charged = self._charge_overrides.pop(ref, charged) if charged else charged
            steps = flexy.mobile_timeline(outcome, self._config.mobile_pending_for, self._config.fulfil_after,
                                          self._config.mobile_unknown_for)
            offers = (flexy.suggested_offers(self._plans, plan)
                      if outcome in (flexy.MobileOutcome.REFUNDED_WITH_OFFERS, flexy.MobileOutcome.MENU) else [])
            topup = flexy.MobileTopup(id=new_id(), ref=ref, plan_code=plan.code, number=number, value=amount,
                                      cost=charged, created=now, steps=steps, key_type=key.type, outcome=outcome,
                                      offers=offers, spoiled=self._spoiled_refs.get(ref))
            self._accept(topup, "FLEXY", note=f"{plan.code} {amount} DA {number}")
            return replace(topup)

    def _accept(self, topup, ledger_type: str, *, note: str) -> None:
        """Record an accepted top-up (internet or mobile; the lock is held): its ref, its refund to
        come, and its debit with the ledger row (none for a top-up that charges nothing)."""
        self._topups[topup.id] = topup
        self._order.append(topup.id)
        self._refs[topup.ref] = topup.id
        self._orders_per_ref[topup.ref] += 1
        if topup.refund_due is not None:
            self._pending_refunds.add(topup.id)
        if topup.cost:
            self._total_debited += topup.cost
            self._move(topup.cost, ledger_type, "decrement", objid=topup.id, note=note, moment=topup.created_at)

    @staticmethod
    def _mobile_amount(plan: flexy.Plan, amount: Decimal | None) -> Decimal:
        if plan.is_menu:
            return Decimal(0)
        if plan.kind == "fixed":
            return plan.amount
        if amount is None:
            raise ApiFailure(400, "ERR_VALIDATION", "body must have required property 'amount'",
                             {"field": "amount", "value": None})
        if amount != amount.to_integral_value():
            raise ApiFailure(400, "ERR_VALIDATION", "body/amount must be integer", {"field": "amount", "value": amount})
        if plan.min_amount is not None and amount < plan.min_amount:
            raise ApiFailure(400, "ERR_VALIDATION", f"body/amount must be >= {plan.min_amount}",
                             {"field": "amount", "value": amount})
        if plan.max_amount is not None and amount > plan.max_amount:
            raise ApiFailure(400, "ERR_VALIDATION", f"body/amount must be <= {plan.max_amount}",
                             {"field": "amount", "value": amount})
        return amount

    def _mobile_debit(self, plan: flexy.Plan, amount: Decimal) -> Decimal:
        if self._config.mobile_debit == "full" or plan.cost is None:
            return amount
        return (amount * plan.cost).quantize(Decimal("0.01"), ROUND_HALF_UP)

    def _mobile_outcome(self, plan: flexy.Plan, number: str, ref: str) -> flexy.MobileOutcome:
        if plan.is_menu:
            return flexy.MobileOutcome.MENU
        forced = self._outcomes_by_ref.get(ref) or self._outcomes_by_number.get(number)
        if forced is not None:
            try:
                return flexy.MobileOutcome(forced.value)
            except ValueError:
                pass
        return flexy.outcome_for_number(number)

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
        with self._lock:
            self._settle()
            topup = self._topups.get(topup_id)
            if topup is None or topup.service != service:
                raise ApiFailure(404, "NOT_FOUND", f"Top-up with id '{topup_id}' not found")
            return topup.view(self.clock.time())

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
            return [t.view(now) for t in chosen if _within(t.created_at, start, end)]

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
                window = sorted((row for row in self._ledger if _within(row["time"], start, end)),
                                key=lambda row: row["time"])
            if self._hidden_rows:
                window = [row for row in window if row["_id"] not in self._hidden_rows]
            total = len(window)
            stop = total - first
            chosen = window[max(stop - count, 0) if count is not None else 0:max(stop, 0)]
            return [_spoiled(row, self._spoiled_rows.get(row["_id"])) for row in reversed(chosen)], total

    def spoil_ledger_row(self, row_id: str, fields: dict[str, Any] | None) -> None:
        """Make /account/transactions show ``fields`` in the row ``row_id`` (a None value removes
        the field): ``{"amount": "N/A"}`` is a row a client cannot read. ``None`` undoes it."""
        with self._lock:
            _remember_spoil(self._spoiled_rows, row_id, fields)

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

    def place_elsewhere(self, *, line_type: str = "ADSL", number: str = "036000001", value: Any = 1000,
                        ref: str | None = None) -> dict[str, Any]:
        """An order sent with this account's key by another program (a debit the dashboard never
        made): as a send would, with an outcome from ``number``."""
        key = next(iter(self._keys.values()))
        topup = self.send_topup(line_type=line_type, number=number, value=money(value), ref=ref, key=key)
        return {"_id": topup.id, "ref": topup.ref, "cost": topup.cost}

    # -- money -----------------------------------------------------------------------------------------

    def _move(self, amount: Decimal, kind: str, operation: str, *, objid: str | None, note: str,
              moment: datetime) -> dict[str, Any]:
        moment = to_millis(moment)
        old = self._balance
        new = old + amount if operation == "increment" else old - amount
        self._balance = new
        row = {
            "_id": new_id(), "type": kind, "operation": operation, "amount": amount,
            "oldBalance": old, "newBalance": new, "objid": objid, "note": note, "time": moment,
        }
        if objid is None:
            del row["objid"]
        if self._ledger_times and moment < self._ledger_times[-1]:
            self._ledger_sorted = False  # never expected: then windows are found by a scan
        self._ledger.append(row)
        self._ledger_times.append(moment)
        return row

    def _settle(self) -> None:
        """Credit back every order whose REFUNDED time has come, once, in the order they fell due.

        Called under the lock by every read and write, so the balance never lags the statuses."""
        if not self._pending_refunds:
            return
        now = self.clock.time()
        due = sorted((self._topups[i] for i in self._pending_refunds if self._topups[i].refund_due <= now),
                     key=lambda t: t.refund_due)
        for topup in due:
            self._pending_refunds.discard(topup.id)
            topup.refunded = True
            self._total_refunded += topup.cost
            self._move(topup.cost, topup.refund_type, "increment", objid=topup.id, note=topup.refund_note,
                       moment=datetime.fromtimestamp(topup.refund_due, UTC))


def _any_outcome(value: Any) -> Outcome | flexy.MobileOutcome:
    try:
        return Outcome(value)
    except ValueError:
        return flexy.MobileOutcome(value)


def _replace_fields(data: dict[str, Any], fields: dict[str, Any] | None) -> dict[str, Any]:
    """``data`` with ``fields`` in place of its own (a None value removes the field)."""
    for name, value in (fields or {}).items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def _spoiled(row: dict[str, Any], fields: dict[str, Any] | None) -> dict[str, Any]:
    return _replace_fields(copy.deepcopy(row), fields)


def _remember_spoil(book: dict[str, dict[str, Any]], key: str, fields: dict[str, Any] | None) -> None:
    if fields is not None and not isinstance(fields, dict):
        raise ValueError("fields must be an object")
    if fields:
        book[key] = dict(fields)
    else:
        book.pop(key, None)


def to_millis(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def unknown_line(number: str, line_type: str) -> ApiFailure:
    return ApiFailure(400, "ERR_PHONE", f"Invalid phone number for {line_type} service",
                      {"number": number, "type": line_type, "reason": "Number not found for this service"})


def _within(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or moment >= start) and (end is None or moment <= end)


__all__ = ["DEMO_KEY", "Config", "KeyInfo", "StockedCard", "Simulator", "Topup"]
