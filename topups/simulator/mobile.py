"""Mobile top-ups ("flexy": Mobilis, Djezzy, Ooredoo credit), section 4 of the API notes: the
account's part that sells them (``MobileTopups``, mixed into ``Simulator``) and their endpoints
(``ROUTES``). The plans, the number rules and the lifecycle are data, in ``flexy.py``."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from . import flexy
from .flexy import MSSIDN_PATTERN
from .internet import MAX_REF_LENGTH
from .params import Call, invalid, items_page, matching, optional_string, page_request, required
from .records import money
from .routes import Route
from .wire import ApiFailure, Reply, new_id

if TYPE_CHECKING:
    from .state import KeyInfo, Simulator

SERVICE = "mobile"


class MobileTopups:
    """The account's mobile part: the plans and the send. Mixed into ``Simulator``, whose core
    (``state.AccountCore``) holds the lock, the balance, the refs and the ledger."""

    def _reset_part(self) -> None:
        super()._reset_part()
        self._plans = flexy.default_plans()

    def _plan(self, code: str) -> flexy.Plan:
        try:
            return self._plans[code]
        except KeyError:
            raise ValueError(f"no mobile plan {code!r}") from None

    def set_plan(self, code: str, **changes: Any) -> dict[str, Any]:
        """Change a mobile plan: ``enabled``, ``cost`` (None: not sent), ``min_amount``,
        ``max_amount``, ``amount``, ``name``."""
        with self._lock:
            plan = self._plan(code)
            for name, value in changes.items():
                if name not in ("enabled", "cost", "min_amount", "max_amount", "amount", "name"):
                    raise ValueError(f"unknown plan field {name!r}")
                if name in ("cost", "min_amount", "max_amount", "amount") and value is not None:
                    value = money(value)
                setattr(plan, name, value)
            return plan.view()

    def remove_plan(self, code: str) -> None:
        """The API stops listing a plan (a send with its code is then refused)."""
        with self._lock:
            self._plan(code)
            del self._plans[code]

    def mobile_plans(self) -> dict[str, Any]:
        with self._lock:
            return flexy.plans_view(self._plans)

    def send_mobile(self, *, plan_code: str, number: str, amount: Decimal | None, ref: str | None,
                    key: KeyInfo) -> flexy.MobileTopup:
        """Accept a mobile top-up: the plan's rules, the ref, the balance, the debit (FLEXY row)
        in one locked step. A GETMENU plan charges nothing and answers the number's offers."""
        with self._lock:
            self._settle()
            plan = self._plans.get(plan_code)
            if plan is None:
                raise ApiFailure(400, "ERR_VALIDATION", "body/plan_code must be one of the plan codes",
                                 {"field": "plan_code", "value": plan_code})
            if not plan.enabled:
                raise ApiFailure(400, "ERR_VALIDATION", f"The plan {plan_code} is not available at the moment",
                                 {"field": "plan_code", "value": plan_code})
            if not number.startswith(flexy.NETWORK_PREFIX.get(plan.network, "0")):
                raise ApiFailure(400, "ERR_VALIDATION", f"MSSIDN does not belong to the plan's operator ({plan.network})",
                                 {"field": "MSSIDN", "value": number})
            amount = self._mobile_amount(plan, amount)
            if not self._config.duplicate_check_last:
                self._check_ref_unused(ref)
            charged = self._mobile_debit(plan, amount)
            self._check_affordable(charged)
            if self._config.duplicate_check_last:
                self._check_ref_unused(ref)
            now = self._order_time()
            if ref is None:
                ref = self._generate_ref(now)
            outcome = self._mobile_outcome(plan, number, ref)
            charged = self._charge_overrides.pop(ref, charged) if charged else charged
            steps = flexy.mobile_timeline(outcome, self._config.mobile_pending_for, self._config.fulfil_after,
                                          self._config.mobile_unknown_for)
            offers = (flexy.suggested_offers(self._plans, plan)
                      if outcome in (flexy.MobileOutcome.REFUNDED_WITH_OFFERS, flexy.MobileOutcome.MENU) else [])
            topup = flexy.MobileTopup(id=new_id(), ref=ref, plan_code=plan.code, number=number, value=amount,
                                      cost=charged, created=now, steps=steps, key_type=key.type, outcome=outcome,
                                      offers=offers, spoiled=self._spoiled_refs.get(ref))
            self._accept(topup, "FLEXY", note=f"{plan.code} {amount} DA {number}")
            return replace(topup)

    @staticmethod
    def _mobile_amount(plan: flexy.Plan, amount: Decimal | None) -> Decimal:
        if plan.is_menu:
            return Decimal(0)
        if plan.kind == "fixed":
            return plan.amount
        if amount is None:
            raise ApiFailure(400, "ERR_VALIDATION", "body must have required property 'amount'",
                             {"field": "amount", "value": None})
        if amount != amount.to_integral_value():
            raise ApiFailure(400, "ERR_VALIDATION", "body/amount must be integer", {"field": "amount", "value": amount})
        if plan.min_amount is not None and amount < plan.min_amount:
            raise ApiFailure(400, "ERR_VALIDATION", f"body/amount must be >= {plan.min_amount}",
                             {"field": "amount", "value": amount})
        if plan.max_amount is not None and amount > plan.max_amount:
            raise ApiFailure(400, "ERR_VALIDATION", f"body/amount must be <= {plan.max_amount}",
                             {"field": "amount", "value": amount})
        return amount

    def _mobile_debit(self, plan: flexy.Plan, amount: Decimal) -> Decimal:
        if self._config.mobile_debit == "full" or plan.cost is None:
            return amount
        return (amount * plan.cost).quantize(Decimal("0.01"), ROUND_HALF_UP)

    def _mobile_outcome(self, plan: flexy.Plan, number: str, ref: str) -> flexy.MobileOutcome:
        if plan.is_menu:
            return flexy.MobileOutcome.MENU
        forced = self._outcomes_by_ref.get(ref) or self._outcomes_by_number.get(number)
        if forced is not None:
            try:
                return flexy.MobileOutcome(forced.value)
            except ValueError:
                pass
        return flexy.outcome_for_number(number)


# Endpoints ------------------------------------------------------------------------------------------


def plans(sim: Simulator, call: Call) -> Reply:
    return Reply(sim.mobile_plans())


def send(sim: Simulator, call: Call) -> Reply:
    where, values = call.source()
    # Field order follows the docs' table so the first problem reported is predictable.
    plan_code = required(where, values, "plan_code")
    if not isinstance(plan_code, str):
        raise invalid(f"{where}/plan_code must be string", "plan_code", plan_code)
    number = matching(where, values, "MSSIDN", MSSIDN_PATTERN)
    amount = values.get("amount")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int | Decimal)):
        raise invalid(f"{where}/amount must be integer", "amount", amount)
    ref = optional_string(where, values, "ref", MAX_REF_LENGTH)
    topup = sim.send_mobile(plan_code=plan_code, number=number, amount=None if amount is None else Decimal(amount),
                            ref=ref, key=call.key)
    data = {"topupId": topup.id, "topupRef": topup.ref}
    if sim.config["mobile_send_new_balance"]:
        data["newBalance"] = sim.balance
    return Reply(data)


def check_id(sim: Simulator, call: Call) -> Reply:
    return Reply(sim.topup_by_id(call.path_params["id"], SERVICE))


def check_ref(sim: Simulator, call: Call) -> Reply:
    return Reply(sim.topup_by_ref(call.path_params["ref"], SERVICE))


def topup_list(sim: Simulator, call: Call) -> Reply:
    """The platform's standard shape (data.items + data.pagination), as the mobile list page says."""
    page = page_request(call.query)
    return Reply(items_page(page, sim.list_topups(page.start, page.end, SERVICE)))


ROUTES = (
    Route("GET", "/v3/mobile/plans", "mobile-plans", plans),
    Route("POST", "/v3/mobile/send", "mobile-send", send, writes=True, ref_field="ref"),
    Route("GET", "/v3/mobile/check-id/{id}", "mobile-check-id", check_id),
    Route("GET", "/v3/mobile/check-ref/{ref}", "mobile-check-ref", check_ref),
    Route("GET", "/v3/mobile/list", "mobile-list", topup_list),
)
