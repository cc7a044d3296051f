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


class _ApiStatus(str, enum.Enum):  # noqa: UP042
    """A status of the API's: any case is read, ``_aliases`` maps other spellings to a member, and
    an undocumented value becomes a pseudo-member named UNKNOWN that keeps the value as sent, so
    callers can store and show it rather than fail."""

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {}

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        name = cls._aliases().get(value.strip().upper(), value.strip().upper())
        if name in cls.__members__:
            return cls[name]
        member = str.__new__(cls, value)
        member._name_ = "UNKNOWN"
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        return self._name_ != "UNKNOWN"


class TopupStatus(_ApiStatus):
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
    def _aliases(cls) -> dict[str, str]:
        return {"SUCCESS": "FULFILLED", "FAILED": "REFUNDED"}

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


# Gift cards (section 5) -------------------------------------------------------------------------


class GiftOrderStatus(_ApiStatus):
    """Status of a gift-card order (5.4). An undocumented value is kept, not rejected.

    PARTIALLY_FILLED: some cards delivered, the rest cancelled and refunded by the API;
    REFUNDED: nothing delivered, all refunded. Both are final, like FULFILLED."""

    HANDLING = "HANDLING"
    FULFILLED = "FULFILLED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    REFUNDED = "REFUNDED"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {"PARTIAL": "PARTIALLY_FILLED", "PARTIALLY_FULFILLED": "PARTIALLY_FILLED"}

    @property
    def is_final(self) -> bool:
        return self in (GiftOrderStatus.FULFILLED, GiftOrderStatus.PARTIALLY_FILLED, GiftOrderStatus.REFUNDED)


@dataclass(frozen=True)
class GiftProduct:
    """A product of the catalogue (5.1): ``enabled`` false means not sold for now."""

    id: str
    title: str
    enabled: bool
    region: str = ""
    category: str = ""


@dataclass(frozen=True)
class GiftCategory:
    name: str
    products: tuple[GiftProduct, ...]


@dataclass(frozen=True)
class GiftCatalog:
    """The whole catalogue; the totals are the API's ``meta`` (None when it does not send them)."""

    categories: tuple[GiftCategory, ...]
    total_categories: int | None = None
    total_products: int | None = None

    @property
    def products(self) -> tuple[GiftProduct, ...]:
        return tuple(product for category in self.categories for product in category.products)


@dataclass(frozen=True)
class GiftType:
    """One denomination of a product (checkProduct's ``types``): ``price`` is our per-card price,
    ``stock`` the API's ``quantity`` (0: out of stock; None: not said)."""

    id: str
    name: str
    price: Decimal
    stock: int | None

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.stock > 0


@dataclass(frozen=True)
class GiftProductDetails:
    """checkProduct (5.2): a product and its types with price and stock."""

    product_id: str
    title: str
    types: tuple[GiftType, ...]

    def type(self, type_id: str) -> GiftType | None:
        return next((t for t in self.types if t.id == type_id), None)


@dataclass(frozen=True)
class GiftCard:
    """A delivered card: ``value`` is the code / PIN (the credential), ``serial`` its serial."""

    value: str
    serial: str = ""

    def __repr__(self) -> str:
        return f"GiftCard(value={mask_code(self.value)!r}, serial={self.serial!r})"


@dataclass(frozen=True)
class GiftOrderPlaced:
    """placeOrder's answer: the order id, and ``order_ref`` only where the API echoes a ref (the
    Arabic guide's ``orderRef``; the English and French reference send none: then "")."""

    order_id: str
    order_ref: str = ""


@dataclass(frozen=True)
class GiftOrder:
    """A gift-card order as checkOrder and the list return it (5.4, 5.5).

    ``product_id`` / ``type_id`` may be empty: the docs' FULFILLED example leaves them out.
    ``fulfilled_quantity``, ``price_per_card`` and ``fulfilled_amount`` are None until the API
    says them (a HANDLING order has none)."""

    id: str
    status: GiftOrderStatus
    quantity: int | None
    product_id: str = ""
    type_id: str = ""
    created_at: datetime | None = None
    fulfilled_quantity: int | None = None
    price_per_card: Decimal | None = None
    fulfilled_amount: Decimal | None = None
    cards: tuple[GiftCard, ...] = ()
    ref: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def delivered(self) -> int:
        """Cards delivered: ``fulfilled_quantity`` when said, else the cards in the answer."""
        return self.fulfilled_quantity if self.fulfilled_quantity is not None else len(self.cards)

    @property
    def undelivered(self) -> int | None:
        """Cards ordered but not delivered (refunded by the API once the order is final)."""
        return None if self.quantity is None else max(self.quantity - self.delivered, 0)

    @property
    def ordered_amount(self) -> Decimal | None:
        """``price_per_card × quantity``: what placeOrder debited (ledger ``ORDER``), when known."""
        if self.price_per_card is None or self.quantity is None:
            return None
        return self.price_per_card * self.quantity

    @property
    def undelivered_amount(self) -> Decimal | None:
        """What the API credits back (``REFUND-ORDER``) for the undelivered cards, when known."""
        if self.price_per_card is None or self.undelivered is None:
            return None
        return self.price_per_card * self.undelivered

    def __repr__(self) -> str:
        # Never print a card code (logs, tracebacks): only how many there are.
        return (f"GiftOrder(id={self.id!r}, status={self.status.value!r}, quantity={self.quantity!r}, "
                f"cards={len(self.cards)})")


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
