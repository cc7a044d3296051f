"""Typed results of the OneClickDZ API: Decimal money, aware datetimes, tolerant enums."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class LineType(str, enum.Enum):  # noqa: UP042
    """An internet line type. Requests use ``ADSL`` / ``4G``; responses may say ``4GLTE``."""

    ADSL = "ADSL"
    LTE = "4G"

    @classmethod
    def _missing_(cls, value: object) -> LineType | None:
        if isinstance(value, str):
            normalised = value.strip().upper().replace(" ", "").replace("-", "")
            if normalised in {"4G", "4GLTE", "LTE"}:
                return cls.LTE
            if normalised == "ADSL":
                return cls.ADSL
        return None


class TopupStatus(str, enum.Enum):  # noqa: UP042
    """Status of an internet or mobile top-up. An undocumented value is kept, not rejected.

    UNKNOWN_ERROR (mobile): the outcome is uncertain for hours; it later becomes FULFILLED or
    REFUNDED. The Arabic mobile page says SUCCESS / FAILED for FULFILLED / REFUNDED: read as those."""

    PENDING = "PENDING"
    HANDLING = "HANDLING"
    QUEUED = "QUEUED"
    FULFILLED = "FULFILLED"
    REFUNDED = "REFUNDED"
    UNKNOWN_ERROR = "UNKNOWN_ERROR"

    @classmethod
    def _missing_(cls, value: object) -> TopupStatus | None:
        if not isinstance(value, str):
            return None
        aliases = {"SUCCESS": "FULFILLED", "FAILED": "REFUNDED"}
        name = aliases.get(value.strip().upper(), value.strip().upper())
        if name in cls.__members__:
            return cls[name]
        # Keep the unknown value as a pseudo-member so callers can store and show it.
        member = str.__new__(cls, value)
        member._name_ = "UNKNOWN"
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        return self._name_ != "UNKNOWN"

    @property
    def is_final(self) -> bool:
        return self in (TopupStatus.FULFILLED, TopupStatus.REFUNDED)


@dataclass(frozen=True)
class Health:
    api_ok: bool
    operators: dict[str, bool]


@dataclass(frozen=True)
class AccountInfo:
    """What /validate says of the account and the key (the key itself is never kept)."""

    username: str
    key_type: str  # SANDBOX | PRODUCTION
    is_enabled: bool
    scope: str  # READ-WRITE | READ-ONLY
    allowed_ips: tuple[str, ...] = ()

    @property
    def is_sandbox(self) -> bool:
        return self.key_type.upper() == "SANDBOX"


@dataclass(frozen=True)
class Balance:
    amount: Decimal
    currency: str = "DZD"
    timestamp: datetime | None = None


@dataclass(frozen=True)
class Transaction:
    id: str
    type: str
    operation: str
    amount: Decimal
    old_balance: Decimal | None
    new_balance: Decimal | None
    objid: str
    note: str
    time: datetime | None


@dataclass(frozen=True)
class CatalogItem:
    """One value of the API's catalog (/internet/products): its cost to us and whether it is in
    stock. (The app keeps its cached copy in topups.models.Product.)"""

    value: Decimal
    cost: Decimal
    available: bool


@dataclass(frozen=True)
class ProductList:
    type: LineType
    products: tuple[CatalogItem, ...]


@dataclass(frozen=True)
class MobilePlanInfo:
    """One plan of /mobile/plans. ``kind`` is ``dynamic`` (the caller picks an amount in
    [min_amount, max_amount]) or ``fixed`` (``amount``). ``multiplier`` is the API's ``cost``: the
    share of the face value debited (None when the API does not say)."""

    code: str
    name: str
    operator: str
    kind: str
    is_enabled: bool
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    amount: Decimal | None = None
    multiplier: Decimal | None = None


@dataclass(frozen=True)
class NumberCheck:
    ncli: str
    type: LineType
    offre: str = ""
    raw_type: str = ""


@dataclass(frozen=True)
class SendResult:
    topup_id: str
    topup_ref: str


@dataclass(frozen=True)
class Topup:
    id: str
    ref: str
    status: TopupStatus
    type: LineType | None
    number: str
    value: Decimal | None
    created_at: datetime | None
    card_code: str = ""
    num_trans: str = ""
    processed_at: datetime | None = None
    # Mobile top-ups: the plan, what the API debited (balance_amount; None when not said), and on
    # REFUNDED / UNKNOWN_ERROR its message for the customer and the offers it suggests instead.
    plan_code: str = ""
    charged: Decimal | None = None
    refund_message: str = ""
    suggested_offers: tuple[dict[str, Any], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        # Never print a full card code (logs, tracebacks).
        masked = mask_code(self.card_code)
        return f"Topup(id={self.id!r}, ref={self.ref!r}, status={self.status.value!r}, card_code={masked!r})"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    page: int
    page_size: int | None
    total_pages: int
    total_items: int | None
    # Items of this page the parser could not read (as received): one bad item spoils only itself.
    unreadable: tuple[Any, ...] = ()

    @property
    def has_next(self) -> bool:
        return self.page < self.total_pages


def mask_code(code: str) -> str:
    """Show only the last 4 characters of a card code."""
    if not code:
        return ""
    return "•" * max(len(code) - 4, 0) + code[-4:]
