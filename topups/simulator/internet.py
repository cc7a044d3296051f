"""Internet top-up endpoints (Algérie Télécom ADSL and 4G LTE cards)."""

from __future__ import annotations

import re

from . import lifecycle
from .params import Call, matching, number, one_of, optional_string, page_request
from .routes import Route
from .state import LINE_TYPES, Simulator, unknown_line
from .wire import ApiFailure, Reply

NUMBER_PATTERNS = {"ADSL": r"^0[0-9]{8}$", "4G": r"^213[0-9]{9}$"}
# The schema only asks for digits; the per-type format is checked after and answered with ERR_PHONE,
# as the docs' example does for "123456".
DIGITS = r"^[0-9]+$"
MAX_REF_LENGTH = 100


def _line(call: Call) -> tuple[str, str]:
    where, values = call.source()
    line_type = one_of(where, values, "type", LINE_TYPES)
    line_number = matching(where, values, "number", DIGITS)
    if not re.match(NUMBER_PATTERNS[line_type], line_number):
        raise ApiFailure(400, "ERR_PHONE", f"Invalid phone number for {line_type} service",
                         {"number": line_number, "type": line_type,
                          "reason": "Number does not match required format"})
    return line_type, line_number


def products(sim: Simulator, call: Call) -> Reply:
    line_type = one_of("querystring", call.query, "type", LINE_TYPES)
    return Reply({"products": sim.products(line_type), "type": line_type}, {"type": line_type})


def check_number(sim: Simulator, call: Call) -> Reply:
    line_type, line_number = _line(call)
    if not sim.line_exists(line_number):
        raise unknown_line(line_number, line_type)
    ncli = lifecycle.masked_ncli(line_type, line_number)
    if line_type == "ADSL":
        return Reply({"ncli": ncli, "offre": lifecycle.adsl_offer(line_number), "type": "ADSL"})
    return Reply({"ncli": ncli, "type": "4GLTE"})


def send(sim: Simulator, call: Call) -> Reply:
    where, values = call.source()
    # Field order follows the docs' table so the first problem reported is predictable.
    line_type = one_of(where, values, "type", LINE_TYPES)
    matching(where, values, "number", DIGITS)
    value = number(where, values, "value")
    ref = optional_string(where, values, "ref", MAX_REF_LENGTH)
    line_type, line_number = _line(call)
    topup = sim.send_topup(line_type=line_type, number=line_number, value=value, ref=ref, key=call.key)
    return Reply({"topupId": topup.id, "topupRef": topup.ref})


def check_id(sim: Simulator, call: Call) -> Reply:
    return Reply(sim.topup_by_id(call.path_params["id"]))


def check_ref(sim: Simulator, call: Call) -> Reply:
    return Reply(sim.topup_by_ref(call.path_params["ref"]))


def topup_list(sim: Simulator, call: Call) -> Reply:
    page = page_request(call.query)
    topups = sim.list_topups(page.start, page.end)
    items, total_pages = page.slice(topups)
    if sim.config["list_shape"] == "items":
        return Reply({
            "items": items,
            "pagination": {"page": page.page, "pageSize": page.page_size, "totalPages": total_pages,
                           "totalResults": len(topups)},
        })
    return Reply({"topups": items}, {
        "pagination": {"currentPage": page.page, "totalPages": total_pages, "totalItems": len(topups),
                       "hasNextPage": page.page < total_pages},
    })


ROUTES = (
    Route("GET", "/v3/internet/products", "products", products),
    # The Arabic guide shows check-number as a POST with a JSON body; accept both.
    Route("GET|POST", "/v3/internet/check-number", "check-number", check_number),
    Route("POST", "/v3/internet/send", "send", send, writes=True, ref_field="ref"),
    Route("GET", "/v3/internet/check-id/{id}", "check-id", check_id),
    Route("GET", "/v3/internet/check-ref/{ref}", "check-ref", check_ref),
    Route("GET", "/v3/internet/list", "list", topup_list),
)
