"""What each type of the provider's ledger means (API reference 2.3): a product line's debit or
refund (each line names its own types: ``debit_types`` / ``refund_types``), matched to our orders, or
one of the account's other movements, recorded as they are. No Django in it."""

from __future__ import annotations

from dataclasses import dataclass

from topups import lines

DEBIT, REFUND = "debit", "refund"


@dataclass(frozen=True)
class Meaning:
    """What a ledger type is: money in or out, and whether it belongs to an order of a service."""

    money_in: bool
    role: str | None = None  # DEBIT or REFUND of an order; None: recorded, not matched
    service: str | None = None


# Section 2.3 of the API notes. A type not listed is recorded as it is (never flagged).
LEDGER_TYPES: dict[str, Meaning] = {
    "DEPOSIT": Meaning(True),
    "REFUND-ORDER": Meaning(True),
    "RECEIVE": Meaning(True),
    "POINT-EXCHANGE": Meaning(True),
    "ORDER": Meaning(False),
    "WITHDRAW": Meaning(False),
    "SEND": Meaning(False),
    "SERVICE": Meaning(False),
}


def meaning_of(ledger_type: str) -> Meaning | None:
    """What a ledger type is: a product line's debit or refund (its ``debit_types`` / ``refund_types``,
    matched to orders) or one of the account's other movements above (recorded); None: not known."""
    for line in lines.all_lines():
        if ledger_type in line.debit_types:
            return Meaning(False, DEBIT, line.code)
        if ledger_type in line.refund_types:
            return Meaning(True, REFUND, line.code)
    return LEDGER_TYPES.get(ledger_type)


def debit_types() -> list[str]:
    return [t for line in lines.all_lines() for t in line.debit_types]


def refund_types() -> list[str]:
    return [t for line in lines.all_lines() for t in line.refund_types]
