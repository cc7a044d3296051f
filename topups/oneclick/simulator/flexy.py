"""Mobile top-ups ("flexy") in the simulator: the plans on offer and the number rule per operator.

Plans are data: ``default_plans()`` gives every kind the docs show (dynamic with a range, fixed,
a plan without ``cost``, GETMENU plans, a disabled one) for each network. A plan's ``operator`` is
the API's (Pixx, Sama and GMobilis are Mobilis offers); ``NETWORK_PREFIX`` says which numbers a
network tops up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MSSIDN_PATTERN = r"^0[567][0-9]{8}$"
NETWORK_PREFIX = {"Ooredoo": "05", "Mobilis": "06", "Djezzy": "07"}
NETWORK_OF_OPERATOR = {"GMobilis": "Mobilis", "Pixx": "Mobilis", "Sama": "Mobilis"}


@dataclass
class Plan:
    code: str
    name: str
    operator: str
    kind: str  # "dynamic" | "fixed"
    cost: Decimal | None  # the multiplier; None: the API does not say
    enabled: bool = True
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    amount: Decimal | None = None

    @property
    def network(self) -> str:
        return NETWORK_OF_OPERATOR.get(self.operator, self.operator)

    @property
    def is_menu(self) -> bool:
        return self.code.upper().startswith("GETMENU")

    def view(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "name": self.name, "operator": self.operator}
        if self.cost is not None:
            data["cost"] = self.cost
        data["isEnabled"] = self.enabled
        if self.kind == "fixed":
            data["amount"] = self.amount
        elif self.min_amount is not None:
            data["min_amount"], data["max_amount"] = self.min_amount, self.max_amount
        return data


def _dynamic(code, name, operator, cost, low, high, enabled=True) -> Plan:
    return Plan(code, name, operator, "dynamic", None if cost is None else Decimal(cost), enabled,
                Decimal(low), Decimal(high))


def _fixed(code, name, operator, cost, amount, enabled=True) -> Plan:
    return Plan(code, name, operator, "fixed", Decimal(cost), enabled, amount=Decimal(amount))


def default_plans() -> dict[str, Plan]:
    plans = [
        _dynamic("PREPAID_DJEZZY", "📱 PREPAID | عادي", "Djezzy", "0.9925", 100, 10000),
        _dynamic("PREPAID_MOBILIS", "📱 PREPAID | عادي", "Mobilis", "0.96", 40, 3999),
        _dynamic("PREPAID_OOREDOO", "📱 PREPAID | عادي", "Ooredoo", "0.98", 50, 5000),
        _dynamic("FACTURE_DJEZZY", "📋 FACTURE | فاتورة", "Djezzy", "1", 100, 50000),
        # No cost in the answer, as in the docs' example.
        _dynamic("GROS_MOBILIS", "📱 GROS MOBILIS | جملة", "GMobilis", None, 5000, 300000),
        _dynamic("FACTURE_OOREDOO", "📋 FACTURE | فاتورة", "Ooredoo", "1", 100, 50000, enabled=False),
        _fixed("PIXX_500", "Pixx 500 DA", "Pixx", "0.97", 500),
        _fixed("MIX500_MOBILIS", "📱🌐 AUTO | MIX 500", "Mobilis", "0.97", 500),
        _fixed("MIX1000_OOREDOO", "📱🌐 AUTO | MIX 1000", "Ooredoo", "0.98", 1000),
        _fixed("MIX1000_DJEZZY", "📱🌐 AUTO | MIX 1000", "Djezzy", "0.98", 1000),
    ]
    plans += [Plan(f"GETMENU_{network}", f"📋 MENU | {network}", network, "dynamic", None)
              for network in NETWORK_PREFIX]
    return {plan.code: plan for plan in plans}


def plans_view(plans: dict[str, Plan]) -> dict[str, list[dict[str, Any]]]:
    """The /mobile/plans ``data``: dynamic and fixed plans apart."""
    return {
        "dynamicPlans": [p.view() for p in plans.values() if p.kind == "dynamic"],
        "fixedPlans": [p.view() for p in plans.values() if p.kind == "fixed"],
    }
