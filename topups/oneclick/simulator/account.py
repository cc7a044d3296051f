"""Core and account endpoints: ping, validate, balance, transactions."""

from __future__ import annotations

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
    rows = sim.transactions(page.start, page.end)
    items, total_pages = page.slice(rows)
    config = sim.config
    if config["ledger_amounts_as_strings"]:
        items = [{**item, **{name: f"{item[name]:.2f}" for name in ("amount", "oldBalance", "newBalance")}}
                 for item in items]
    if config["ledger_shape"] == "topups":
        return Reply({"items": items}, {
            "pagination": {"currentPage": page.page, "totalPages": total_pages, "totalItems": len(rows),
                           "hasNextPage": page.page < total_pages},
        })
    return Reply({
        "items": items,
        "pagination": {"page": page.page, "pageSize": page.page_size, "totalPages": total_pages,
                       "totalResults": len(rows)},
    })


ROUTES = (
    Route("GET", "/v3/ping", "ping", ping, auth=False),
    Route("GET", "/v3/validate", "validate", validate),
    Route("GET", "/v3/account/balance", "balance", balance),
    Route("GET", "/v3/account/transactions", "transactions", transactions),
)
