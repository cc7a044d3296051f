"""Request checks that answer ERR_VALIDATION with the API's schema-style messages.

The real API validates with JSON schemas and reports the first problem as
``<location>/<field> must ...`` with ``details {field, value}``; these helpers do the same, so a
client sees the same text whether it breaks a query string or a body.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .wire import ApiFailure, parse_iso

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class Call:
    """What a service handler gets from the HTTP layer."""

    method: str
    path_params: dict[str, str]
    query: dict[str, str]
    body: Any  # parsed JSON, or None when there was no body
    key: Any  # KeyInfo of the caller, or None on routes without auth
    ip: str

    def source(self) -> tuple[str, dict[str, Any]]:
        """Where the fields are: the JSON body on POST, else the query string."""
        if self.method == "POST":
            if not isinstance(self.body, dict):
                raise invalid("body must be object", "body", self.body)
            return "body", self.body
        return "querystring", self.query


def invalid(message: str, field: str, value: Any) -> ApiFailure:
    return ApiFailure(400, "ERR_VALIDATION", message, {"field": field, "value": value})


def required(where: str, values: dict[str, Any], name: str) -> Any:
    if name not in values or values[name] is None or values[name] == "":
        raise invalid(f"{where} must have required property '{name}'", name, values.get(name))
    return values[name]


def one_of(where: str, values: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = required(where, values, name)
    if value not in allowed:
        raise invalid(f"{where}/{name} must be equal to one of the allowed values", name, value)
    return value


def matching(where: str, values: dict[str, Any], name: str, pattern: str) -> str:
    value = required(where, values, name)
    if not isinstance(value, str):
        raise invalid(f"{where}/{name} must be string", name, value)
    if not re.match(pattern, value):
        raise invalid(f'{where}/{name} must match pattern "{pattern}"', name, value)
    return value


def number(where: str, values: dict[str, Any], name: str) -> Decimal:
    value = required(where, values, name)
    # bool is an int in Python but not a number in JSON; strings are refused like the schema does.
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise invalid(f"{where}/{name} must be number", name, value)
    return Decimal(value)


def optional_string(where: str, values: dict[str, Any], name: str, max_length: int) -> str | None:
    if name not in values:
        return None
    value = values[name]
    if not isinstance(value, str):
        raise invalid(f"{where}/{name} must be string", name, value)
    if not value:
        raise invalid(f"{where}/{name} must NOT have fewer than 1 characters", name, value)
    if len(value) > max_length:
        raise invalid(f"{where}/{name} must NOT have more than {max_length} characters", name, value)
    return value


def _integer(query: dict[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?[0-9]+", raw):
        raise invalid(f"querystring/{name} must be integer", name, raw)
    value = int(raw)
    if value < low:
        raise invalid(f"querystring/{name} must be >= {low}", name, raw)
    if high is not None and value > high:
        raise invalid(f"querystring/{name} must be <= {high}", name, raw)
    return value


@dataclass(frozen=True)
class PageRequest:
    page: int
    page_size: int
    start: datetime | None
    end: datetime | None

    def slice(self, items: list[Any]) -> tuple[list[Any], int]:
        """This page of ``items`` and the total number of pages (0 when there is nothing)."""
        total_pages = math.ceil(len(items) / self.page_size)
        first = (self.page - 1) * self.page_size
        return items[first:first + self.page_size], total_pages


def items_page(page: PageRequest, items: list[Any]) -> dict[str, Any]:
    """The platform's standard list ``data``: this page of ``items`` (all of the window, newest
    first) and ``pagination {page, pageSize, totalPages, totalResults}``."""
    chosen, total_pages = page.slice(items)
    return {"items": chosen, "pagination": {"page": page.page, "pageSize": page.page_size,
                                            "totalPages": total_pages, "totalResults": len(items)}}


def page_request(query: dict[str, str]) -> PageRequest:
    """page >= 1 (default 1), pageSize 1..100 (default 20), from/to ISO 8601, both or neither."""
    page = _integer(query, "page", 1, 1, None)
    page_size = _integer(query, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    start_raw, end_raw = query.get("from"), query.get("to")
    if (start_raw is None) != (end_raw is None):
        missing = "to" if end_raw is None else "from"
        raise invalid(f"querystring/{missing} is required when {'from' if missing == 'to' else 'to'} is given",
                      missing, None)
    start = end = None
    if start_raw is not None:
        start, end = _date(start_raw, "from"), _date(end_raw, "to")
    return PageRequest(page, page_size, start, end)


def _date(raw: str, name: str) -> datetime:
    try:
        return parse_iso(raw)
    except ValueError:
        raise invalid(f'querystring/{name} must match format "date-time"', name, raw) from None
