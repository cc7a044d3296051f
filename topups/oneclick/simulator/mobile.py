"""Mobile top-up endpoints ("flexy": Mobilis, Djezzy, Ooredoo credit)."""

from __future__ import annotations

from .params import Call
from .routes import Route
from .state import Simulator
from .wire import Reply


def plans(sim: Simulator, call: Call) -> Reply:
    return Reply(sim.mobile_plans())


ROUTES = (
    Route("GET", "/v3/mobile/plans", "mobile-plans", plans),
)
