"""Small pieces every part of the simulated account shares: money as ``Decimal``, times cut to the
millisecond the client is shown, the inclusive time window of the lists, and "spoiled" views (fields
replaced or removed on purpose, for tests of a client's parsing).

Kept apart from ``state.py`` so the per-line parts (``internet.py``, ``mobile.py``,
``giftcards.py``) can use them without importing the account they are mixed into.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def money(amount: Any) -> Decimal:
    """A Decimal from an int, str or Decimal; floats go through str so 0.1 stays 0.1."""
    if isinstance(amount, bool):
        raise ValueError("an amount cannot be a boolean")
    return amount if isinstance(amount, Decimal) else Decimal(str(amount))


def to_millis(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def within(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or moment >= start) and (end is None or moment <= end)


def replace_fields(data: dict[str, Any], fields: dict[str, Any] | None) -> dict[str, Any]:
    """``data`` with ``fields`` in place of its own (a None value removes the field)."""
    for name, value in (fields or {}).items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def spoiled(row: dict[str, Any], fields: dict[str, Any] | None) -> dict[str, Any]:
    return replace_fields(copy.deepcopy(row), fields)


def remember_spoil(book: dict[str, dict[str, Any]], key: str, fields: dict[str, Any] | None) -> None:
    if fields is not None and not isinstance(fields, dict):
        raise ValueError("fields must be an object")
    if fields:
        book[key] = dict(fields)
    else:
        book.pop(key, None)


class OrderRecord:
    """What the core asks of an order of any line, for the line's dataclasses to inherit: they hold
    ``created`` (clock seconds), ``cost`` (what was debited), ``steps`` ((offset, status) pairs, the
    last one final) and ``refunded`` (set once the refund is credited)."""

    created: float
    cost: Decimal
    steps: tuple[tuple[float, str], ...]
    refunded: bool

    @property
    def refund_amount(self) -> Decimal:
        """What the refund credits back: the whole cost (a partial fill overrides this)."""
        return self.cost

    @property
    def net_debit(self) -> Decimal:
        return self.cost - self.refund_amount if self.refunded else self.cost

    @property
    def created_at(self) -> datetime:
        return to_millis(datetime.fromtimestamp(self.created, UTC))

    @property
    def refund_due(self) -> float | None:
        """Clock time at which the refund falls due, or None if there is none to credit."""
        final_offset, final_status = self.steps[-1]
        if final_status not in ("REFUNDED", "PARTIALLY_FILLED") or not self.refund_amount:
            return None
        return self.created + final_offset
