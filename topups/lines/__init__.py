"""Product lines as plug-ins: the registry.

A product line (internet cards, flexy, ...) is one package under ``topups.lines`` that defines a
``ProductLine`` (``topups.lines.base``) and registers it here when it is imported. The packages
named in ``settings.TOPUPS_PRODUCT_LINES`` are imported when the app is ready
(``TopupsConfig.ready``); the shared pipeline, the counter, the admin, bulk files, the books, the
ledger and the pages then ask the registry, never ``if service == ...``.

An order names its line by ``Order.service`` (the line's ``code``). This module has no Django in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from topups.lines.base import ProductLine

_LINES: dict[str, ProductLine] = {}


class UnknownLine(LookupError):
    """No product line of that code is registered."""


def register(line: ProductLine) -> ProductLine:
    """Add ``line`` to the registry (a second line of the same code replaces the first)."""
    _LINES[line.code] = line
    return line


def unregister(code: str) -> None:
    _LINES.pop(code, None)


def get(code: str) -> ProductLine:
    try:
        return _LINES[code]
    except KeyError:
        raise UnknownLine(code) from None


def find(code: str) -> ProductLine | None:
    return _LINES.get(code)


def of(order) -> ProductLine:
    """The line an order (or any row with a ``service``) was sold through."""
    return get(order.service)


def all_lines() -> Iterator[ProductLine]:
    """The registered lines, in the order they were registered (the counter's tabs)."""
    return iter(list(_LINES.values()))


def codes() -> list[str]:
    return list(_LINES)


def choices() -> list[tuple[str, str]]:
    """(code, label) of every registered line: ``Order.service``'s choices."""
    return [(line.code, line.label) for line in _LINES.values()]


def default_code() -> str:
    """The first registered line's code: ``Order.service``'s default (a bulk row no other line claims)."""
    return next(iter(_LINES))
