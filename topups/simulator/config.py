"""The simulator's behaviour switches and timings (``Simulator.configure``, ``/_sim/config``).

Each setting is a choice the API docs leave open or a timing the tests shrink; ``check`` refuses a
value the simulator cannot honour, so a bad ``/_sim/config`` call fails at once, not mid-test.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

LIST_SHAPES = ("topups", "items")
MOBILE_DEBIT_RULES = ("multiplier", "full")
# Settings in seconds (or ms): never negative, floats for the lifecycle maths.
DURATIONS = ("fulfil_after", "queue_for", "slow_after", "latency_ms", "block_seconds",
             "mobile_pending_for", "mobile_unknown_for", "gift_list_lag")
GIFT_REF_RULES = ("ignore", "echo")


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
    # Gift cards: the English and French reference have no ref on placeOrder ("ignore": a ref sent
    # is ignored, never echoed); the Arabic guide sends one and gets it back as orderRef ("echo": the
    # ref is checked account-wide like a send's, kept on the order and echoed). A placed order
    # shows in /gift-cards/list only gift_list_lag seconds after it was placed (a lagging replica).
    gift_ref: str = "ignore"
    gift_list_lag: float = 0.0

    def check(self) -> None:
        for name in DURATIONS:
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
        if self.gift_ref not in GIFT_REF_RULES:
            raise ValueError(f"gift_ref must be one of {GIFT_REF_RULES}")


def updated_config(config: Config, changes: dict[str, Any]) -> Config:
    unknown = set(changes) - {f.name for f in fields(Config)}
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    changes = dict(changes)
    # Numbers may arrive as Decimal (JSON over /_sim/) or int; the lifecycle maths wants floats.
    for name in DURATIONS:
        if name in changes:
            changes[name] = float(changes[name])
    if "missing_token_status" in changes:
        changes["missing_token_status"] = int(changes["missing_token_status"])
    candidate = replace(config, **changes)
    candidate.check()
    return candidate
