"""Core and account endpoints: ping, validate, balance, transactions."""

from __future__ import annotations

import math

from .params import Call, page_request
from .routes import Route
from .state import Simulator
from .wire import Reply


def ping(sim: Simulator, call: Call) -> Reply:
    return Reply(sim.health())


def validate(sim: Simulator, call: Call) -> Reply:
    key = call.key
    return Reply({
        "username": sim.username,
        "apiKey": {
            "key": key.masked,
            "isEnabled": True,
            "type": key.type,
            "allowedips": list(key.allowed_ips),
            "scope": key.scope,
        },
    })


def balance(sim: Simulator, call: Call) -> Reply:
    return Reply({"balance": sim.balance, "currency": "DZD"})


def transactions(sim: Simulator, call: Call) -> Reply:
    page = page_request(call.query)
    items, total = sim.transactions_page(page.start, page.end, (page.page - 1) * page.page_size, page.page_size)
    total_pages = math.ceil(total / page.page_size)
    config = sim.config
    if config["ledger_amounts_as_strings"]:
        items = [{**item, **{name: f"{item[name]:.2f}" for name in ("amount", "oldBalance", "newBalance")}}
                 for item in items]
    if config["ledger_shape"] == "topups":
        return Reply({"items": items}, {
            "pagination": {"currentPage": page.page, "totalPages": total_pages, "totalItems": total,
                           "hasNextPage": page.page < total_pages},
        })
    return Reply({
        "items": items,
        "pagination": {"page": page.page, "pageSize": page.page_size, "totalPages": total_pages,
                       "totalResults": total},
    })


ROUTES = (
    Route("GET", "/v3/ping", "ping", ping, auth=False),
    Route("GET", "/v3/validate", "validate", validate),
    Route("GET", "/v3/account/balance", "balance", balance),
    Route("GET", "/v3/account/transactions", "transactions", transactions),
)
