"""Rows the tests build, in one place: factory-boy factories for rows written straight to the
database (a starting point a test describes, not a sale), and ``place`` for an order created the
way the counter creates one (``orders.create_order``: ref, catalog check, price, till)."""

from __future__ import annotations

from decimal import Decimal

from factory.django import DjangoModelFactory

from topups.models import Order, OrderEvent, Product
from topups.services import orders, sync
from topups.services.actors import SYNC, Actor

# What an order of each service needs when a test does not say: a line and a value the
# simulator's catalog sells (internet), a number and a plan it tops up (mobile).
ORDER_DEFAULTS = {
    "internet": {"number": "036362600", "line_type": "ADSL", "value": 1000},
    "mobile": {"number": "0778037340", "plan_code": "PREPAID_DJEZZY", "value": 1000},
    # Gift cards: the number is the quantity; the simulator's PlayStation Network, PSN 500 DA.
    "giftcard": {"number": "2", "plan_code": "507f1f77bcf86cd799439011:type_001", "value": None},
}

# The arguments of orders.create_order; any other keyword given to ``place`` is written on the
# row once it exists (a status, a card code, a cost…).
CREATE_ARGUMENTS = {"line_type", "plan_code", "ref", "note", "send", "products", "plan"}


def place(who, number: str | None = None, *, service: str = "internet", **fields) -> Order:
    """A new order from ``who`` (a user or an Actor) through ``orders.create_order``.

    ``value`` may be an int, a string or None (a plan priced by the API); keywords that are not
    ``create_order``'s are then written on the row, and the order is read back."""
    actor = who if isinstance(who, Actor) else Actor.user(who)
    given = {**ORDER_DEFAULTS.get(service, {}), **fields}
    if number is not None:
        given["number"] = number
    number, value = given.pop("number"), given.pop("value")
    create = {name: given.pop(name) for name in list(given) if name in CREATE_ARGUMENTS}
    order, created = orders.create_order(service=service, number=number, actor=actor,
                                         value=None if value is None else Decimal(value), **create)
    assert created
    if not given:
        return order
    Order.objects.filter(pk=order.pk).update(**given)
    return Order.objects.get(pk=order.pk)


class OrderFactory(DjangoModelFactory):
    """An internet card's order row as it stands in the database, written without the services."""

    class Meta:
        model = Order

    line_type = "ADSL"
    number = "036362600"
    value = Decimal(1000)


class MobileOrderFactory(OrderFactory):
    """A mobile top-up's order row (Djezzy prepaid), written without the services."""

    service = "mobile"
    line_type = ""
    plan_code = "PREPAID_DJEZZY"
    number = "0771234567"


class ProductFactory(DjangoModelFactory):
    """A catalog line the API sells (cost is what the API debits)."""

    class Meta:
        model = Product

    line_type = "ADSL"
    value = Decimal(500)
    cost = Decimal(490)


def refresh(order, now=None) -> Order:
    """The order after one status check by the sync, read again from the database."""
    sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=SYNC, now=now)
    return Order.objects.get(pk=order.pk)


def history(order) -> list[tuple[str, str]]:
    """The order's moves, (from, to), oldest first."""
    return list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status"))
