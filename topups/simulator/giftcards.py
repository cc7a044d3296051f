"""Gift cards (section 5 of the API notes): the account's part that sells them (``GiftCards``,
mixed into ``Simulator``) and their endpoints (``ROUTES``): catalog, checkProduct, placeOrder,
checkOrder and list.

An order is debited ``price × quantity`` when placed (ledger ``ORDER``), stays ``HANDLING`` for
``fulfil_after`` seconds, then ends ``FULFILLED``, ``PARTIALLY_FILLED`` (the sandbox type
``TEST_PARTIAL``: half the cards, rounded down) or ``REFUNDED`` (``TEST_REFUND``); the undelivered
cards are credited back then (``REFUND-ORDER``). The reference's placeOrder takes no ref; the
``gift_ref`` setting chooses between that ("ignore") and the Arabic guide's ref echoed as
``orderRef`` ("echo").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import lifecycle
from .internet import MAX_REF_LENGTH
from .params import Call, invalid, items_page, optional_string, page_request, required
from .records import OrderRecord, replace_fields, within
from .routes import Route
from .wire import ApiFailure, Reply, iso, new_id

if TYPE_CHECKING:
    from .state import KeyInfo, Simulator

SERVICE = "giftcards"
HANDLING = "HANDLING"
FULFILLED = "FULFILLED"
PARTIALLY_FILLED = "PARTIALLY_FILLED"
REFUNDED = "REFUNDED"
# The sandbox's outcome selectors (1.7): typeIds that any enabled product accepts.
TEST_REFUND = "TEST_REFUND"
TEST_PARTIAL = "TEST_PARTIAL"
SANDBOX_TYPES = (TEST_REFUND, TEST_PARTIAL)


@dataclass
class GiftType:
    id: str
    name: str
    price: Decimal
    stock: int

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "price": self.price, "quantity": self.stock}


@dataclass
class GiftProduct:
    id: str
    title: str
    category: str
    types: dict[str, GiftType]
    enabled: bool = True
    region: str = ""

    def view(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "title": self.title, "enabled": self.enabled}
        if self.region:
            data["region"] = self.region
        return data

    def sandbox_type(self, type_id: str) -> GiftType:
        """A sandbox selector sold at the product's cheapest price, so its debit and refund show in
        the ledger (the docs' sandbox example charges 0; the simulator has only one balance)."""
        cheapest = min(self.types.values(), key=lambda t: t.price)
        return GiftType(type_id, f"{self.title} ({type_id})", cheapest.price, stock=10**6)


def _product(product_id: str, title: str, category: str, types: list[tuple[str, str, int, int]],
             **extra: Any) -> GiftProduct:
    return GiftProduct(product_id, title, category,
                       {tid: GiftType(tid, name, Decimal(price), stock) for tid, name, price, stock in types}, **extra)


def default_gift_catalog() -> dict[str, GiftProduct]:
    """A few products of two categories, types in and out of stock, and one disabled product."""
    products = [
        _product("507f1f77bcf86cd799439011", "PlayStation Network", "Gaming Cards",
                 [("type_001", "PSN 500 DA", 490, 150), ("type_002", "PSN 1000 DA", 980, 40),
                  ("type_003", "PSN 2000 DA", 1960, 0)], region="dz"),
        _product("507f1f77bcf86cd799439012", "Google Play Gift Card", "Gaming Cards",
                 [("gp_1000", "Google Play 1000 DA", 990, 25), ("gp_2500", "Google Play 2500 DA", 2475, 5)]),
        _product("507f1f77bcf86cd799439013", "Netflix", "Streaming",
                 [("nf_1m", "Netflix 1 month", 1800, 12)]),
        _product("507f1f77bcf86cd799439014", "Steam Wallet", "Gaming Cards",
                 [("steam_1000", "Steam 1000 DA", 1000, 30)], enabled=False),
    ]
    return {product.id: product for product in products}


@dataclass
class GiftOrder(OrderRecord):
    """A gift-card order as the account keeps it (the top-ups' sibling: same registry, ledger and
    refund settling). ``delivered`` is how many cards the order ends with."""

    id: str
    ref: str  # "" unless placed with a ref under gift_ref="echo"
    product_id: str
    type_id: str
    quantity: int
    price: Decimal
    created: float
    steps: tuple[tuple[float, str], ...]
    key_type: str
    delivered: int
    refunded: bool = False
    spoiled: dict[str, Any] | None = field(default=None, repr=False)
    service = SERVICE
    refund_type = "REFUND-ORDER"

    @property
    def cost(self) -> Decimal:
        return self.price * self.quantity

    @property
    def refund_amount(self) -> Decimal:
        """The undelivered cards' price: all of it for a REFUNDED order, half for TEST_PARTIAL."""
        return self.price * (self.quantity - self.delivered)

    @property
    def refund_note(self) -> str:
        return f"Refund {self.quantity - self.delivered} x {self.type_id} of order {self.id}"

    def cards(self, count: int) -> list[dict[str, str]]:
        """The delivered cards, the same at every read: the sandbox's ``SANDBOX-CARD-n`` /
        ``SANDBOX-n`` under a sandbox key, codes derived from the order id otherwise."""
        if self.key_type == "SANDBOX":
            return [{"value": f"SANDBOX-CARD-{n}", "serial": f"SANDBOX-{n}"} for n in range(1, count + 1)]
        cards = []
        for n in range(1, count + 1):
            code = lifecycle.stable_digits(f"gift:{self.id}:{n}", 16)
            cards.append({"value": "-".join(code[i:i + 4] for i in range(0, 16, 4)),
                          "serial": lifecycle.stable_digits(f"serial:{self.id}:{n}", 9)})
        return cards

    def view(self, now: float) -> dict[str, Any]:
        """The order as checkOrder and the list return it."""
        status, _reached = lifecycle.status_at(self.steps, now - self.created)
        data: dict[str, Any] = {"_id": self.id, "status": status, "quantity": self.quantity,
                                "product": self.product_id, "type": self.type_id}
        if self.ref:
            data["ref"] = self.ref
        if status != HANDLING:
            delivered = {FULFILLED: self.quantity, PARTIALLY_FILLED: self.delivered}.get(status, 0)
            data.update({"fulfilled_quantity": delivered, "fulfilled_amount": self.price * delivered,
                         "price_per_card": self.price, "cards": self.cards(delivered)})
        data["time"] = iso(self.created_at)
        return replace_fields(data, self.spoiled)


def _outcome(type_id: str, quantity: int) -> tuple[str, int]:
    """(final status, cards delivered) for an order of ``quantity`` cards of ``type_id``. A partial
    fill of one card delivers none, so it ends REFUNDED (0 < fulfilled < quantity is the rule)."""
    if type_id == TEST_REFUND:
        return REFUNDED, 0
    if type_id == TEST_PARTIAL:
        delivered = quantity // 2
        return (PARTIALLY_FILLED if delivered else REFUNDED), delivered
    return FULFILLED, quantity


class GiftCards:
    """The account's gift-card part: the catalogue with its stock, and the orders. Mixed into
    ``Simulator``, whose core (``state.AccountCore``) holds the lock, the balance, the refs and
    the ledger; gift orders sit in the core's order registry beside the top-ups."""

    def _reset_part(self) -> None:
        super()._reset_part()
        self._gift_catalog = copy.deepcopy(self._initial_gift_catalog)

    # -- control ---------------------------------------------------------------------------------

    def _gift_product(self, product_id: str) -> GiftProduct:
        try:
            return self._gift_catalog[product_id]
        except KeyError:
            raise ValueError(f"no gift product {product_id!r}") from None

    def gift_products(self) -> list[dict[str, Any]]:
        """The whole catalogue with every type's price and stock (the control's view)."""
        with self._lock:
            return [{**product.view(), "category": product.category,
                     "types": [t.view() for t in product.types.values()]}
                    for product in self._gift_catalog.values()]

    def set_gift_stock(self, product_id: str, type_id: str, stock: int) -> dict[str, Any]:
        """Set a type's stock (0: out of stock; placeOrder then answers ERR_STOCK)."""
        if isinstance(stock, bool) or int(stock) != stock or stock < 0:
            raise ValueError("stock must be a whole number >= 0")
        with self._lock:
            gift_type = self._gift_product(product_id).types.get(type_id)
            if gift_type is None:
                raise ValueError(f"no type {type_id!r} for gift product {product_id!r}")
            gift_type.stock = int(stock)
            return gift_type.view()

    def set_gift_product(self, product_id: str, *, enabled: bool) -> dict[str, Any]:
        """Enable or disable a product (a disabled one is listed with enabled false and refused)."""
        with self._lock:
            product = self._gift_product(product_id)
            product.enabled = bool(enabled)
            return product.view()

    # -- the API ---------------------------------------------------------------------------------

    def gift_catalog(self) -> list[dict[str, Any]]:
        """The catalog's ``categories``, in the order their first product was added."""
        with self._lock:
            categories: dict[str, list[dict[str, Any]]] = {}
            for product in self._gift_catalog.values():
                categories.setdefault(product.category, []).append(product.view())
            return [{"name": name, "products": products} for name, products in categories.items()]

    def gift_product(self, product_id: str) -> dict[str, Any]:
        with self._lock:
            product = self._gift_catalog.get(product_id)
            if product is None:
                raise ApiFailure(404, "NOT_FOUND", f"Product '{product_id}' not found")
            return {"productId": product.id, "productTitle": product.title,
                    "types": [t.view() for t in product.types.values()]}

    def place_gift_order(self, *, product_id: str, type_id: str, quantity: int, ref: str | None,
                         key: KeyInfo) -> GiftOrder:
        """Accept an order: checks, stock, debit and ``ORDER`` row in one locked step. ``ref`` is
        None unless the ``gift_ref`` setting is "echo"; then it is checked first, as a send's."""
        with self._lock:
            self._settle()
            if not self._config.duplicate_check_last:
                self._check_ref_unused(ref)
            product = self._gift_catalog.get(product_id)
            if product is None:
                raise invalid("body/productId must be a product of the catalogue", "productId", product_id)
            if not product.enabled:
                raise invalid(f"The product {product_id} is not available at the moment", "productId", product_id)
            gift_type = product.sandbox_type(type_id) if type_id in SANDBOX_TYPES else product.types.get(type_id)
            if gift_type is None:
                raise invalid("body/typeId must be a type of the product", "typeId", type_id)
            if gift_type.stock < quantity:
                raise ApiFailure(400, "ERR_STOCK", "This product is out of stock",
                                 {"productId": product_id, "typeId": type_id, "available": gift_type.stock})
            self._check_affordable(gift_type.price * quantity)
            if self._config.duplicate_check_last:
                self._check_ref_unused(ref)
            status, delivered = _outcome(type_id, quantity)
            if type_id not in SANDBOX_TYPES:
                gift_type.stock -= quantity
            order = GiftOrder(id=new_id(), ref=ref or "", product_id=product_id, type_id=type_id, quantity=quantity,
                              price=gift_type.price, created=self._order_time(),
                              steps=((0.0, HANDLING), (self._config.fulfil_after, status)), key_type=key.type,
                              delivered=delivered, spoiled=self._spoiled_refs.get(ref) if ref else None)
            self._accept(order, "ORDER", note=f"{product.title}: {quantity} x {gift_type.name}")
            return replace(order)

    def gift_order(self, order_id: str) -> dict[str, Any]:
        return self._order_view(order_id, SERVICE, f"Order '{order_id}' not found")

    def list_gift_orders(self, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
        """Gift orders placed in [start, end] (both inclusive), newest first, leaving out those placed
        less than ``gift_list_lag`` seconds ago."""
        with self._lock:
            self._settle()
            now = self.clock.time()
            shown_before = now - self._config.gift_list_lag
            orders = (self._topups[i] for i in reversed(self._order))
            return [order.view(now) for order in orders
                    if order.service == SERVICE and order.created <= shown_before
                    and within(order.created_at, start, end)]


# Endpoints ------------------------------------------------------------------------------------------


def catalog(sim: Simulator, call: Call) -> Reply:
    categories = sim.gift_catalog()
    return Reply({"categories": categories}, {"totalCategories": len(categories),
                                              "totalProducts": sum(len(c["products"]) for c in categories)})


def check_product(sim: Simulator, call: Call) -> Reply:
    return Reply(sim.gift_product(call.path_params["productId"]))


def place_order(sim: Simulator, call: Call) -> Reply:
    where, values = call.source()
    # Field order follows the docs' table so the first problem reported is predictable.
    ids = {}
    for name in ("productId", "typeId"):
        ids[name] = required(where, values, name)
        if not isinstance(ids[name], str):
            raise invalid(f"{where}/{name} must be string", name, ids[name])
    quantity = required(where, values, "quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise invalid(f"{where}/quantity must be integer", "quantity", quantity)
    if quantity < 1:
        raise invalid(f"{where}/quantity must be >= 1", "quantity", quantity)
    echo = sim.config["gift_ref"] == "echo"
    ref = optional_string(where, values, "ref", MAX_REF_LENGTH) if echo else None
    order = sim.place_gift_order(product_id=ids["productId"], type_id=ids["typeId"], quantity=quantity, ref=ref,
                                 key=call.key)
    data = {"orderId": order.id}
    if echo and order.ref:
        data["orderRef"] = order.ref
    return Reply(data)


def check_order(sim: Simulator, call: Call) -> Reply:
    return Reply(sim.gift_order(call.path_params["orderId"]))


def order_list(sim: Simulator, call: Call) -> Reply:
    page = page_request(call.query)
    return Reply(items_page(page, sim.list_gift_orders(page.start, page.end)))


ROUTES = (
    Route("GET", "/v3/gift-cards/catalog", "gift-catalog", catalog),
    Route("GET", "/v3/gift-cards/checkProduct/{productId}", "gift-check-product", check_product),
    Route("POST", "/v3/gift-cards/placeOrder", "gift-place-order", place_order, writes=True, ref_field="ref"),
    Route("GET", "/v3/gift-cards/checkOrder/{orderId}", "gift-check-order", check_order),
    Route("GET", "/v3/gift-cards/list", "gift-list", order_list),
)
