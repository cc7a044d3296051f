"""Turn OneClickDZ payloads into the typed objects of ``types.py``.

The reference documents several shapes for the same thing (Appendix C of the API notes); every
parser here accepts all of them, ignores fields it does not know, and never turns money into a float.
A payload that lacks a field we cannot do without raises ``BadResponse``; the client turns that
into ``OutcomeUnknown`` when it answered a POST.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from .errors import (
    ERROR_CODES,
    ApiError,
    BadResponse,
    Forbidden,
    InvalidAccessToken,
    IpBlocked,
    NotFound,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    ValidationFailed,
)
from .types import (
    AccountInfo,
    Balance,
    CatalogItem,
    GiftCard,
    GiftCatalog,
    GiftCategory,
    GiftOrder,
    GiftOrderPlaced,
    GiftOrderStatus,
    GiftProduct,
    GiftProductDetails,
    GiftType,
    Health,
    LineType,
    MobilePlanInfo,
    NumberCheck,
    Page,
    ProductList,
    SendResult,
    Topup,
    TopupStatus,
    Transaction,
)

T = TypeVar("T")


# Envelope -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """``{success, data, meta, requestId}`` or ``{success: false, error, requestId}``."""

    success: bool
    data: Any
    meta: Mapping[str, Any]
    request_id: str | None
    error: Mapping[str, Any]


def read_envelope(body: bytes) -> Envelope | None:
    """The envelope of a response body, or None when the body is not JSON or not an envelope."""
    if not body:
        return None
    try:
        payload = json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("success"), bool):
        return None
    meta = payload.get("meta")
    error = payload.get("error")
    request_id = payload.get("requestId")
    return Envelope(
        success=payload["success"],
        data=payload.get("data"),
        meta=meta if isinstance(meta, dict) else {},
        request_id=request_id if isinstance(request_id, str) else None,
        error=error if isinstance(error, dict) else {},
    )


_IP_WORD = re.compile(r"\bIPS?\b")


def _class_for_status(http_status: int | None, code: str, message: str) -> type[ApiError]:
    if http_status == 401:
        return InvalidAccessToken
    if http_status == 403:
        text = f"{code} {message}".upper().replace("_", " ")
        if _IP_WORD.search(text) and any(word in text for word in ("BLOCK", "ALLOWED", "WHITELIST")):
            return IpBlocked
        return Forbidden
    if http_status == 404:
        return NotFound
    if http_status == 400:
        return ValidationFailed
    if http_status == 429:
        return RateLimited
    if http_status == 503:
        return ServiceUnavailable
    if http_status is not None and http_status >= 500:
        return ServerError
    return ApiError


def api_error(envelope: Envelope | None, http_status: int | None) -> ApiError:
    """The typed exception for an error answer: by ``error.code`` first, then by HTTP status."""
    error = envelope.error if envelope else {}
    code = error.get("code") if isinstance(error.get("code"), str) else ""
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    details = error.get("details") if isinstance(error.get("details"), dict) else {}
    cls = ERROR_CODES.get(code.upper()) if code else None
    if cls is None:
        cls = _class_for_status(http_status, code, message)
    if not message:
        message = f"HTTP {http_status}" + ("" if envelope else " without an error envelope")
    return cls(
        message,
        code=code or None,
        details=details,
        http_status=http_status,
        request_id=envelope.request_id if envelope else None,
    )


# Scalars --------------------------------------------------------------------------------------


def _require_dict(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise BadResponse(f"{what}: expected an object, got {type(value).__name__}")
    return value


def _require(obj: Mapping[str, Any], *keys: str, what: str) -> Any:
    for key in keys:
        if obj.get(key) is not None:
            return obj[key]
    raise BadResponse(f"{what}: missing field {keys[0]!r}")


def _first(obj: Mapping[str, Any], *keys: str, default: Any = None) -> Any:
    for key in keys:
        if obj.get(key) is not None:
            return obj[key]
    return default


def to_decimal(value: Any, what: str = "amount") -> Decimal:
    """Money from JSON: ``Decimal(str(x))`` so 1326.13 stays 1326.13, never a binary float."""
    if isinstance(value, bool) or value is None:
        raise BadResponse(f"{what}: not a number: {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadResponse(f"{what}: not a finite number: {value!r}")
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise BadResponse(f"{what}: not a number: {value!r}") from None
    if not result.is_finite():
        raise BadResponse(f"{what}: not a finite number: {value!r}")
    return result


def _optional_decimal(value: Any, what: str) -> Decimal | None:
    return None if value is None or value == "" else to_decimal(value, what)


def to_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO 8601 (``...Z``, offsets, or naive meaning UTC) or epoch.

    Unreadable values give None rather than an error: a bad timestamp must not hide a card code.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            seconds = value / 1000 if value > 1e11 else value  # epoch milliseconds or seconds
            return datetime.fromtimestamp(seconds, tz=UTC)
        if isinstance(value, str):
            text = value.strip()
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "up", "ok"}
    return bool(value)


def _line_type(value: Any) -> LineType | None:
    if value is None:
        return None
    try:
        return LineType(value)
    except ValueError:
        return None


# Endpoints ------------------------------------------------------------------------------------


def parse_health(data: Any) -> Health:
    data = _require_dict(data, "ping")
    operators = data.get("operators")
    return Health(
        api_ok=_str(data.get("api")).lower() == "ok",
        operators={str(k): _bool(v) for k, v in operators.items()} if isinstance(operators, dict) else {},
    )


def parse_account(data: Any) -> AccountInfo:
    data = _require_dict(data, "validate")
    key = _require_dict(_require(data, "apiKey", what="validate"), "validate.apiKey")
    ips = _first(key, "allowedips", "allowedIps", "allowedIPs", default=[])
    return AccountInfo(
        username=_str(data.get("username")),
        key_type=_str(_require(key, "type", what="validate.apiKey")).upper(),
        is_enabled=_bool(key.get("isEnabled"), default=True),
        scope=_str(key.get("scope")).upper(),
        allowed_ips=tuple(str(ip) for ip in ips) if isinstance(ips, list) else (),
    )


def parse_balance(data: Any, meta: Mapping[str, Any] | None = None) -> Balance:
    data = _require_dict(data, "balance")
    return Balance(
        amount=to_decimal(_require(data, "balance", what="balance"), "balance"),
        currency=_str(data.get("currency") or "DZD"),
        timestamp=to_datetime((meta or {}).get("timestamp")),
    )


def parse_transaction(item: Any) -> Transaction:
    item = _require_dict(item, "transaction")
    return Transaction(
        id=_str(_require(item, "_id", "id", what="transaction")),
        type=_str(item.get("type")),
        operation=_str(item.get("operation")),
        amount=to_decimal(_require(item, "amount", what="transaction"), "transaction.amount"),
        old_balance=_optional_decimal(item.get("oldBalance"), "transaction.oldBalance"),
        new_balance=_optional_decimal(item.get("newBalance"), "transaction.newBalance"),
        objid=_str(item.get("objid")),
        note=_str(item.get("note")),
        time=to_datetime(item.get("time")),
    )


def parse_product(item: Any) -> CatalogItem:
    item = _require_dict(item, "product")
    return CatalogItem(
        value=to_decimal(_require(item, "value", what="product"), "product.value"),
        cost=to_decimal(_require(item, "cost", what="product"), "product.cost"),
        available=_bool(item.get("available"), default=True),
    )


def parse_products(
    data: Any, meta: Mapping[str, Any] | None = None, *, requested: LineType | None = None
) -> ProductList:
    """``data.products`` + ``data.type``, ``meta.type``, or a bare list in ``data`` (Appendix C #2).

    Duplicated values are kept as sent (the docs show one); callers choose.
    """
    meta = meta or {}
    if isinstance(data, list):
        items, type_value = data, meta.get("type")
    else:
        data = _require_dict(data, "products")
        items = _require(data, "products", "items", what="products")
        type_value = _first(data, "type") or meta.get("type")
    if not isinstance(items, list):
        raise BadResponse("products: expected a list")
    line_type = _line_type(type_value) or requested
    if line_type is None:
        raise BadResponse(f"products: unknown type {type_value!r}")
    return ProductList(type=line_type, products=tuple(parse_product(item) for item in items))


def parse_plan(item: Any, kind: str) -> MobilePlanInfo:
    item = _require_dict(item, "plan")
    return MobilePlanInfo(
        code=_str(_require(item, "code", "plan_code", what="plan")),
        name=_str(item.get("name")),
        operator=_str(item.get("operator")),
        kind=kind,
        is_enabled=_bool(_first(item, "isEnabled", "is_enabled"), default=True),
        min_amount=_optional_decimal(_first(item, "min_amount", "minAmount"), "plan.min_amount"),
        max_amount=_optional_decimal(_first(item, "max_amount", "maxAmount"), "plan.max_amount"),
        amount=_optional_decimal(item.get("amount"), "plan.amount"),
        multiplier=_optional_decimal(item.get("cost"), "plan.cost"),
    )


def parse_plans(data: Any) -> tuple[MobilePlanInfo, ...]:
    """``data.dynamicPlans`` and ``data.fixedPlans``. A plan that cannot be read is left out (a
    bad entry must not hide the others); ``cost`` may be absent (the docs' GROS_MOBILIS)."""
    data = _require_dict(data, "plans")
    plans = []
    for key, kind in (("dynamicPlans", "dynamic"), ("fixedPlans", "fixed")):
        items = data.get(key) or []
        if not isinstance(items, list):
            raise BadResponse(f"plans: {key} is not a list")
        for item in items:
            try:
                plans.append(parse_plan(item, kind))
            except BadResponse:
                continue
    return tuple(plans)


def parse_number_check(data: Any, *, requested: LineType | None = None) -> NumberCheck:
    data = _require_dict(data, "check-number")
    raw_type = _str(data.get("type"))
    line_type = _line_type(raw_type) or requested
    if line_type is None:
        raise BadResponse(f"check-number: unknown type {raw_type!r}")
    return NumberCheck(
        ncli=_str(data.get("ncli")),
        type=line_type,
        offre=_str(data.get("offre")),
        raw_type=raw_type,
    )


def parse_send_result(data: Any) -> SendResult:
    data = _require_dict(data, "send")
    return SendResult(
        topup_id=_str(_require(data, "topupId", "_id", "id", what="send")),
        topup_ref=_str(_require(data, "topupRef", "ref", what="send")),
    )


def parse_topup(item: Any) -> Topup:
    """An internet or a mobile top-up (``MSSIDN``, ``plan_code``, ``balance_amount``,
    ``refund_message``, ``suggested_offers``)."""
    item = _require_dict(item, "topup")
    amount = _first(item, "topup_amount", "value", "amount")
    return Topup(
        id=_str(_require(item, "_id", "id", "topupId", what="topup")),
        ref=_str(_first(item, "ref", "topupRef", default="")),
        status=TopupStatus(_str(_require(item, "status", what="topup"))),
        type=_line_type(item.get("type")),
        number=_str(_first(item, "number", "MSSIDN", "mssidn")),
        value=_optional_decimal(amount, "topup.topup_amount"),
        created_at=to_datetime(_first(item, "created_at", "createdAt")),
        card_code=_str(item.get("card_code")),
        num_trans=_str(item.get("num_trans")),
        processed_at=to_datetime(_first(item, "date_traitement", "processed_at")),
        plan_code=_str(item.get("plan_code")),
        charged=_optional_decimal(item.get("balance_amount"), "topup.balance_amount"),
        refund_message=_str(item.get("refund_message")),
        suggested_offers=_offers(item.get("suggested_offers")),
        raw=dict(item),
    )


def _offers(value: Any) -> tuple[dict[str, Any], ...]:
    """``suggested_offers`` as plain ``{typename, plan_code, amount}`` dicts (amount a string, for
    JSON storage); entries without a plan code are dropped."""
    if not isinstance(value, list):
        return ()
    offers = []
    for entry in value:
        if isinstance(entry, dict) and entry.get("plan_code"):
            amount = entry.get("amount")
            offers.append({"typename": _str(entry.get("typename")), "plan_code": _str(entry["plan_code"]),
                           "amount": None if amount is None or isinstance(amount, bool) else str(amount)})
    return tuple(offers)



# Gift cards (section 5) ---------------------------------------------------------------------------


def parse_gift_catalog(data: Any, meta: Mapping[str, Any] | None = None) -> GiftCatalog:
    """``data.categories[{name, products[{id, title, enabled, region?}]}]`` with the totals in
    ``meta`` (5.1), or the categories as a bare list. A product without an id is left out (it
    cannot be ordered); an unnamed category keeps its products."""
    meta = meta or {}
    if isinstance(data, list):
        categories = data
    else:
        categories = _require(_require_dict(data, "catalog"), "categories", what="catalog")
    if not isinstance(categories, list):
        raise BadResponse("catalog: categories is not a list")
    parsed = []
    for category in categories:
        category = _require_dict(category, "catalog.category")
        name = _str(_first(category, "name", "title"))
        products = category.get("products") or []
        if not isinstance(products, list):
            raise BadResponse(f"catalog: products of {name!r} is not a list")
        parsed.append(GiftCategory(name=name, products=tuple(
            GiftProduct(id=_str(_first(product, "id", "_id", "productId")),
                        title=_str(_first(product, "title", "name")),
                        enabled=_bool(_first(product, "enabled", "isEnabled"), default=True),
                        region=_str(product.get("region")), category=name)
            for product in products
            if isinstance(product, dict) and _first(product, "id", "_id", "productId") is not None
        )))
    return GiftCatalog(categories=tuple(parsed), total_categories=_int(meta.get("totalCategories")),
                       total_products=_int(meta.get("totalProducts")))


def parse_gift_type(item: Any) -> GiftType:
    """A type of checkProduct: ``id`` (English, French) or ``_id`` (Arabic guide, Appendix C #8)."""
    item = _require_dict(item, "gift type")
    stock = _first(item, "quantity", "stock")
    return GiftType(
        id=_str(_require(item, "id", "_id", "typeId", what="gift type")),
        name=_str(_first(item, "name", "title")),
        price=to_decimal(_require(item, "price", what="gift type"), "gift type.price"),
        stock=None if stock is None else _int(stock),
    )


def parse_gift_product(data: Any) -> GiftProductDetails:
    """checkProduct (5.2): ``{productId, productTitle, types[]}``."""
    data = _require_dict(data, "checkProduct")
    types = _require(data, "types", what="checkProduct")
    if not isinstance(types, list):
        raise BadResponse("checkProduct: types is not a list")
    return GiftProductDetails(
        product_id=_str(_require(data, "productId", "_id", "id", what="checkProduct")),
        title=_str(_first(data, "productTitle", "title", "name")),
        types=tuple(parse_gift_type(item) for item in types),
    )


def parse_gift_order_placed(data: Any) -> GiftOrderPlaced:
    """placeOrder (5.3): ``{orderId}``, or ``{orderId, orderRef}`` as the Arabic guide shows."""
    data = _require_dict(data, "placeOrder")
    return GiftOrderPlaced(
        order_id=_str(_require(data, "orderId", "_id", "id", what="placeOrder")),
        order_ref=_str(_first(data, "orderRef", "ref", default="")),
    )


def _gift_card(item: Any) -> GiftCard:
    if not isinstance(item, dict) or item.get("value") in (None, ""):
        # A delivered card we cannot read must not pass for one: the whole order is unreadable.
        raise BadResponse("gift order: a card without a value")
    return GiftCard(value=_str(item["value"]), serial=_str(item.get("serial")))


def parse_gift_order(item: Any) -> GiftOrder:
    """checkOrder (5.4) or a list item (5.5): ``_id, status, quantity, product, type, time`` and,
    once final, ``fulfilled_quantity, fulfilled_amount, price_per_card, cards[{value, serial}]``."""
    item = _require_dict(item, "gift order")
    cards = item.get("cards") or []
    if not isinstance(cards, list):
        raise BadResponse("gift order: cards is not a list")
    quantity = item.get("quantity")
    fulfilled = item.get("fulfilled_quantity", item.get("fulfilledQuantity"))
    return GiftOrder(
        id=_str(_require(item, "_id", "id", "orderId", what="gift order")),
        status=GiftOrderStatus(_str(_require(item, "status", what="gift order"))),
        quantity=None if quantity is None else _int(quantity),
        product_id=_str(_first(item, "product", "productId", default="")),
        type_id=_str(_first(item, "type", "typeId", default="")),
        created_at=to_datetime(_first(item, "time", "created_at", "createdAt")),
        fulfilled_quantity=None if fulfilled is None else _int(fulfilled),
        price_per_card=_optional_decimal(_first(item, "price_per_card", "pricePerCard"), "gift order.price_per_card"),
        fulfilled_amount=_optional_decimal(_first(item, "fulfilled_amount", "fulfilledAmount"),
                                           "gift order.fulfilled_amount"),
        cards=tuple(_gift_card(card) for card in cards),
        ref=_str(_first(item, "ref", "orderRef", default="")),
        raw=dict(item),
    )


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def parse_page(
    data: Any,
    meta: Mapping[str, Any] | None,
    item_parser: Callable[[Any], T],
    *,
    page: int = 1,
    page_size: int | None = None,
) -> Page[T]:
    """A list page in any documented shape (Appendix C #1).

    Items come from ``data.items``, ``data.topups`` or a bare list; pagination from
    ``data.pagination {page, pageSize, totalPages, totalResults}`` or
    ``meta.pagination {currentPage, totalPages, totalItems, hasNextPage}``. Without pagination
    the page is taken as the last one. ``page``/``page_size`` are what was asked, used as fallbacks.
    An item that cannot be read is kept aside in ``unreadable``; the others are still returned.
    """
    meta = meta or {}
    pagination: Mapping[str, Any] = {}
    if isinstance(data, list):
        items = data
    else:
        data = _require_dict(data, "list")
        items = _require(data, "items", "topups", "transactions", what="list")
        if isinstance(data.get("pagination"), dict):
            pagination = data["pagination"]
    if not pagination and isinstance(meta.get("pagination"), dict):
        pagination = meta["pagination"]
    if not isinstance(items, list):
        raise BadResponse("list: expected a list of items")

    current = _int(_first(pagination, "page", "currentPage")) or page
    size = _int(_first(pagination, "pageSize", "perPage", "limit")) or page_size
    total_pages = _int(_first(pagination, "totalPages", "pages"))
    total_items = _int(_first(pagination, "totalResults", "totalItems", "total"))
    if total_pages is None:
        total_pages = current
    if pagination.get("hasNextPage") is True:
        total_pages = max(total_pages, current + 1)
    elif pagination.get("hasNextPage") is False:
        total_pages = min(total_pages, current)  # the explicit flag wins over a contradicting count
    parsed, unreadable = [], []
    for item in items:
        try:
            parsed.append(item_parser(item))
        except BadResponse:
            unreadable.append(item)
    return Page(
        items=tuple(parsed),
        unreadable=tuple(unreadable),
        page=current,
        page_size=size,
        total_pages=total_pages,
        total_items=total_items,
    )
