"""Mobile top-up endpoints ("flexy": Mobilis, Djezzy, Ooredoo credit), section 4 of the API notes."""

from __future__ import annotations

from decimal import Decimal

from .flexy import MSSIDN_PATTERN
from .internet import MAX_REF_LENGTH
from .params import Call, invalid, matching, optional_string, page_request, required
from .routes import Route
from .state import Simulator
from .wire import Reply

SERVICE = "mobile"


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
    topups = sim.list_topups(page.start, page.end, SERVICE)
    items, total_pages = page.slice(topups)
    return Reply({
        "items": items,
        "pagination": {"page": page.page, "pageSize": page.page_size, "totalPages": total_pages,
                       "totalResults": len(topups)},
    })


ROUTES = (
    Route("GET", "/v3/mobile/plans", "mobile-plans", plans),
    Route("POST", "/v3/mobile/send", "mobile-send", send, writes=True, ref_field="ref"),
    Route("GET", "/v3/mobile/check-id/{id}", "mobile-check-id", check_id),
    Route("GET", "/v3/mobile/check-ref/{ref}", "mobile-check-ref", check_ref),
    Route("GET", "/v3/mobile/list", "mobile-list", topup_list),
)
