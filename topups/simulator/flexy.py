"""Mobile top-ups ("flexy") in the simulator: the plans on offer and the number rule per operator.

Plans are data: ``default_plans()`` gives every kind the docs show (dynamic with a range, fixed,
a plan without ``cost``, GETMENU plans, a disabled one) for each network. A plan's ``operator`` is
the API's (Pixx, Sama and GMobilis are Mobilis offers); ``NETWORK_PREFIX`` says which numbers a
network tops up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import lifecycle
from .records import OrderRecord, replace_fields
from .wire import iso

# The provider's own rule, kept apart from the client's (topups.oneclick.client.MSSIDN_PATTERN) on
# purpose: the simulator plays the API, and a client that drifted from it must be caught.
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


# Lifecycle ----------------------------------------------------------------------------------------
#
# PENDING → HANDLING → FULFILLED | REFUNDED (refund_message, maybe suggested_offers) | UNKNOWN_ERROR
# (refund_message), which later becomes FULFILLED or REFUNDED. Outcomes are chosen by the number's
# last 7 digits (any operator: 0600000001, 0770000001 and 0550000001 alike), like the sandbox's test
# numbers.

PENDING = "PENDING"
HANDLING = "HANDLING"
FULFILLED = "FULFILLED"
REFUNDED = "REFUNDED"
UNKNOWN_ERROR = "UNKNOWN_ERROR"

REFUND_MESSAGE = "فشلت عملية التعبئة، تمت إعادة المبلغ إلى رصيدك"
SUGGEST_MESSAGE = "هذا رقم الهاتف لا يقبل العرض المرسل، الرجاء إرسال أحد العروض التالية"
UNKNOWN_MESSAGE = "حدث خطأ غير معروف أثناء التعبئة، سيتم التحقق من العملية خلال 24 ساعة. لا تعيدوا المبلغ للزبون"
MENU_MESSAGE = "العروض المتاحة لهذا الرقم"


class MobileOutcome(enum.StrEnum):
    FULFILLED = "FULFILLED"
    REFUNDED = "REFUNDED"
    REFUNDED_WITH_OFFERS = "REFUNDED_WITH_OFFERS"
    UNKNOWN_THEN_FULFILLED = "UNKNOWN_THEN_FULFILLED"
    UNKNOWN_THEN_REFUNDED = "UNKNOWN_THEN_REFUNDED"
    MENU = "MENU"  # a GETMENU plan: the number's offers, nothing charged


OUTCOME_BY_NUMBER_END = {
    "0000001": MobileOutcome.REFUNDED,
    "0000002": MobileOutcome.REFUNDED_WITH_OFFERS,
    "0000003": MobileOutcome.UNKNOWN_THEN_FULFILLED,
    "0000004": MobileOutcome.UNKNOWN_THEN_REFUNDED,
}


def outcome_for_number(number: str) -> MobileOutcome:
    return OUTCOME_BY_NUMBER_END.get(number[-7:], MobileOutcome.FULFILLED)


def mobile_timeline(outcome: MobileOutcome, pending_for: float, final_after: float, unknown_for: float
                    ) -> tuple[tuple[float, str], ...]:
    """(seconds after creation, status) steps: PENDING at 0, HANDLING, then the outcome."""
    final_after = max(final_after, pending_for)
    later = final_after + unknown_for
    ends = {
        MobileOutcome.FULFILLED: ((final_after, FULFILLED),),
        MobileOutcome.REFUNDED: ((final_after, REFUNDED),),
        MobileOutcome.REFUNDED_WITH_OFFERS: ((final_after, REFUNDED),),
        MobileOutcome.MENU: ((final_after, REFUNDED),),
        MobileOutcome.UNKNOWN_THEN_FULFILLED: ((final_after, UNKNOWN_ERROR), (later, FULFILLED)),
        MobileOutcome.UNKNOWN_THEN_REFUNDED: ((final_after, UNKNOWN_ERROR), (later, REFUNDED)),
    }[outcome]
    return ((0.0, PENDING), (pending_for, HANDLING), *ends)


def suggested_offers(plans: dict[str, Plan], sent: Plan) -> list[dict[str, Any]]:
    """Up to three enabled plans of the number's network other than the one sent."""
    offers = []
    for plan in plans.values():
        if plan.code == sent.code or plan.network != sent.network or not plan.enabled or plan.is_menu:
            continue
        amount = plan.amount if plan.kind == "fixed" else max(plan.min_amount or Decimal(0), Decimal(500))
        offers.append({"typename": plan.name, "plan_code": plan.code, "amount": amount})
    return offers[:3]


@dataclass
class MobileTopup(OrderRecord):
    """A mobile top-up as the simulator keeps it (the internet ``Topup``'s sibling: same ids, refs,
    ledger and refund settling)."""

    id: str
    ref: str
    plan_code: str
    number: str
    value: Decimal  # topup_amount: the face value sent
    cost: Decimal  # balance_amount: what was debited
    created: float
    steps: tuple[tuple[float, str], ...]
    key_type: str
    outcome: MobileOutcome
    offers: list[dict[str, Any]] = field(default_factory=list)
    refunded: bool = False
    spoiled: dict[str, Any] | None = None
    service = "mobile"
    refund_type = "REFUND-FLEXY"

    @property
    def refund_note(self) -> str:
        return f"Refund {self.plan_code} {self.value} DA {self.number}"

    def view(self, now: float) -> dict[str, Any]:
        status, _reached = lifecycle.status_at(self.steps, now - self.created)
        data: dict[str, Any] = {
            "_id": self.id, "ref": self.ref, "status": status, "plan_code": self.plan_code,
            "MSSIDN": self.number, "topup_amount": self.value, "balance_amount": self.cost,
            "created_at": iso(self.created_at),
        }
        if status == UNKNOWN_ERROR:
            data["refund_message"] = UNKNOWN_MESSAGE
        elif status == REFUNDED:
            data["refund_message"] = {MobileOutcome.REFUNDED_WITH_OFFERS: SUGGEST_MESSAGE,
                                      MobileOutcome.MENU: MENU_MESSAGE}.get(self.outcome, REFUND_MESSAGE)
            if self.offers:
                data["suggested_offers"] = self.offers
        return replace_fields(data, self.spoiled)
