"""The control interface over HTTP, under ``/_sim/``: the Simulator's control methods as JSON routes.

Present only in the simulator (the real API has no such thing) and open without a key, so the
demo, the benchmarks and tests in another process can steer it. docs/simulator.md lists every route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .state import LINE_TYPES, Simulator
from .wire import iso


class BadControlRequest(ValueError):
    pass


def _get(body: dict[str, Any], name: str, default: Any = ...) -> Any:
    if name in body:
        return body[name]
    if default is ...:
        raise BadControlRequest(f"missing field {name!r}")
    return default


def _reset(sim: Simulator, body: dict[str, Any]) -> Any:
    sim.reset()
    return sim.stats()


def _set_balance(sim: Simulator, body: dict[str, Any]) -> Any:
    return {"balance": sim.set_balance(_get(body, "balance"))}


def _add_key(sim: Simulator, body: dict[str, Any]) -> Any:
    sim.add_key(_get(body, "key"), type=_get(body, "type", "SANDBOX"), scope=_get(body, "scope", "READ-WRITE"),
                allowed_ips=tuple(_get(body, "allowed_ips", ())))
    return {"added": True}


def _catalog(sim: Simulator, body: dict[str, Any]) -> Any:
    return {line_type: sim.products(line_type) for line_type in LINE_TYPES}


def _upsert_product(sim: Simulator, body: dict[str, Any]) -> Any:
    line_type, value = _get(body, "type"), _get(body, "value")
    known = any(p["value"] == value for p in sim.products(line_type))
    if not known:
        sim.add_product(line_type, value, _get(body, "cost"), bool(_get(body, "available", True)))
    else:
        if "cost" in body:
            sim.set_cost(line_type, value, body["cost"])
        if "available" in body:
            sim.set_stock(line_type, value, bool(body["available"]))
    return _catalog(sim, body)


def _remove_product(sim: Simulator, body: dict[str, Any]) -> Any:
    sim.remove_product(_get(body, "type"), _get(body, "value"))
    return _catalog(sim, body)


def _set_stock(sim: Simulator, body: dict[str, Any]) -> Any:
    sim.set_stock(_get(body, "type"), _get(body, "value"), bool(_get(body, "available")))
    return _catalog(sim, body)


def _set_plan(sim: Simulator, body: dict[str, Any]) -> Any:
    changes = {name: value for name, value in body.items() if name != "code"}
    return sim.set_plan(_get(body, "code"), **changes)


def _remove_plan(sim: Simulator, body: dict[str, Any]) -> Any:
    sim.remove_plan(_get(body, "code"))
    return sim.mobile_plans()


def _gift_stock(sim: Simulator, body: dict[str, Any]) -> Any:
    return sim.set_gift_stock(_get(body, "productId"), _get(body, "typeId"), _get(body, "stock"))


def _gift_product(sim: Simulator, body: dict[str, Any]) -> Any:
    return sim.set_gift_product(_get(body, "productId"), enabled=bool(_get(body, "enabled")))


def _configure(sim: Simulator, body: dict[str, Any]) -> Any:
    return sim.configure(**body)


def _advance(sim: Simulator, body: dict[str, Any]) -> Any:
    return {"clock": iso(sim.advance(_get(body, "seconds")))}


def _clock(sim: Simulator, body: dict[str, Any]) -> Any:
    return {"clock": iso(sim.now()), "offset": sim.clock.offset}


def _inject_fault(sim: Simulator, body: dict[str, Any]) -> Any:
    sim.inject_fault(_get(body, "endpoint"), _get(body, "kind"), count=int(_get(body, "count", 1)),
                     latency_ms=float(_get(body, "latency_ms", 0)), hang_seconds=float(_get(body, "hang_seconds", 30)))
    return sim.faults()


def _fault_mix(sim: Simulator, body: dict[str, Any]) -> Any:
    extra = _get(body, "extra_latency_ms", None)
    sim.set_fault_mix(
        _get(body, "endpoint"),
        {kind: float(p) for kind, p in _get(body, "mix").items()},
        seed=_get(body, "seed", None),
        extra_latency_ms=tuple(float(x) for x in extra) if extra is not None else None,
        latency_ms=float(_get(body, "latency_ms", 250)),
        hang_seconds=float(_get(body, "hang_seconds", 30)),
    )
    return sim.faults()


def _clear_faults(sim: Simulator, body: dict[str, Any]) -> Any:
    sim.clear_faults()
    return sim.faults()


def _set_outcome(sim: Simulator, body: dict[str, Any]) -> Any:
    sim.set_outcome(outcome=_get(body, "outcome"), number=_get(body, "number", None), ref=_get(body, "ref", None))
    return {"set": True}


def _clear_outcomes(sim: Simulator, body: dict[str, Any]) -> Any:
    sim.clear_outcomes()
    return {"cleared": True}


def _spoil(sim: Simulator, body: dict[str, Any]) -> Any:
    sim.spoil_topup(_get(body, "ref"), _get(body, "fields", None))
    return {"spoiled": True}


def _set_ping(sim: Simulator, body: dict[str, Any]) -> Any:
    return sim.set_health(api=_get(body, "api", None), operators=_get(body, "operators", None))


def _charge(sim: Simulator, body: dict[str, Any]) -> Any:
    sim.charge_differently(_get(body, "ref"), _get(body, "amount"))
    return {"set": True}


def _refund(sim: Simulator, body: dict[str, Any]) -> Any:
    return sim.refund_topup(_get(body, "ref"), amount=_get(body, "amount", None))


def _hide(sim: Simulator, body: dict[str, Any]) -> Any:
    return {"hidden": sim.hide_ledger_rows(ref=_get(body, "ref", None), row_id=_get(body, "row_id", None),
                                           type=_get(body, "type", None))}


def _add_row(sim: Simulator, body: dict[str, Any]) -> Any:
    return sim.add_ledger_row(type=_get(body, "type"), amount=_get(body, "amount"), objid=_get(body, "objid", None),
                              note=_get(body, "note", ""))


def _spoil_row(sim: Simulator, body: dict[str, Any]) -> Any:
    sim.spoil_ledger_row(_get(body, "row_id"), _get(body, "fields", None))
    return {"spoiled": True}


def _elsewhere(sim: Simulator, body: dict[str, Any]) -> Any:
    return sim.place_elsewhere(line_type=_get(body, "type", "ADSL"), number=_get(body, "number", "036000001"),
                               value=_get(body, "value", 1000), ref=_get(body, "ref", None))


ROUTES: dict[tuple[str, str], Callable[[Simulator, dict[str, Any]], Any]] = {
    ("GET", "/_sim/health"): lambda sim, body: {"ok": True},
    ("POST", "/_sim/reset"): _reset,
    ("GET", "/_sim/stats"): lambda sim, body: sim.stats(),
    ("GET", "/_sim/ledger"): lambda sim, body: sim.ledger(),
    ("POST", "/_sim/ledger/rows"): _add_row,
    ("POST", "/_sim/ledger/hide"): _hide,
    ("POST", "/_sim/ledger/charge"): _charge,
    ("POST", "/_sim/ledger/refund"): _refund,
    ("POST", "/_sim/ledger/elsewhere"): _elsewhere,
    ("POST", "/_sim/ledger/spoil"): _spoil_row,
    ("GET", "/_sim/orders"): lambda sim, body: sim.orders(),
    ("GET", "/_sim/debits"): lambda sim, body: sim.net_debits(),
    ("POST", "/_sim/spoil"): _spoil,
    ("POST", "/_sim/balance"): _set_balance,
    ("POST", "/_sim/keys"): _add_key,
    ("GET", "/_sim/products"): _catalog,
    ("POST", "/_sim/products"): _upsert_product,
    ("DELETE", "/_sim/products"): _remove_product,
    ("POST", "/_sim/stock"): _set_stock,
    ("GET", "/_sim/plans"): lambda sim, body: sim.mobile_plans(),
    ("POST", "/_sim/plans"): _set_plan,
    ("DELETE", "/_sim/plans"): _remove_plan,
    ("GET", "/_sim/gift-cards"): lambda sim, body: sim.gift_products(),
    ("POST", "/_sim/gift-cards/stock"): _gift_stock,
    ("POST", "/_sim/gift-cards/product"): _gift_product,
    ("GET", "/_sim/config"): lambda sim, body: sim.config,
    ("POST", "/_sim/config"): _configure,
    ("GET", "/_sim/clock"): _clock,
    ("POST", "/_sim/advance"): _advance,
    ("GET", "/_sim/faults"): lambda sim, body: sim.faults(),
    ("POST", "/_sim/faults"): _inject_fault,
    ("DELETE", "/_sim/faults"): _clear_faults,
    ("POST", "/_sim/fault-mix"): _fault_mix,
    ("POST", "/_sim/outcome"): _set_outcome,
    ("DELETE", "/_sim/outcome"): _clear_outcomes,
    ("GET", "/_sim/ping"): lambda sim, body: sim.health(),
    ("POST", "/_sim/ping"): _set_ping,
}


def handle(sim: Simulator, method: str, raw_path: str, query: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
    """Run one control route; (HTTP status, JSON payload)."""
    route = ROUTES.get((method, raw_path.rstrip("/")))
    if route is None:
        return 404, _error("NOT_FOUND", f"no control route {method} {raw_path}")
    # GET and DELETE may carry their arguments in the query string instead of a body.
    arguments = {**query, **(body if isinstance(body, dict) else {})}
    if body is not None and not isinstance(body, dict):
        return 400, _error("SIM_BAD_REQUEST", "the body must be a JSON object")
    try:
        return 200, {"success": True, "data": route(sim, arguments)}
    except (BadControlRequest, ValueError, TypeError, KeyError) as exc:
        return 400, _error("SIM_BAD_REQUEST", str(exc))


def _error(code: str, message: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message}}
