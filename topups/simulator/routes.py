"""The route table: which (method, path) is which endpoint, handled by which service function.

Each service module (account, internet; later mobile and gift cards) exports a ``ROUTES`` tuple;
the HTTP layer matches against all of them. Paths are matched on the raw, still-encoded path so a
ref containing ``%2F`` stays one path segment; captured values are URL-decoded afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote


@dataclass(frozen=True)
class Route:
    methods: str  # one or more methods separated by "|", e.g. "GET|POST"
    path: str  # with {name} placeholders for one path segment
    endpoint: str  # the name used by stats and fault injection
    handler: Callable[..., Any]
    auth: bool = True
    writes: bool = False  # refused to READ-ONLY keys
    ref_field: str | None = None  # body field whose value is counted as a send attempt
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path)
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    def match(self, method: str, raw_path: str) -> dict[str, str] | None:
        if method not in self.methods.split("|"):
            return None
        found = self.pattern.match(raw_path)
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}


def resolve(routes: tuple[Route, ...], method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        params = route.match(method, raw_path)
        if params is not None:
            return route, params
    return None
