"""Internet top-ups (Algérie Télécom ADSL and 4G LTE cards): the account's part that sells them
(``InternetTopups``, mixed into ``Simulator``) and their endpoints (``ROUTES``)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import lifecycle
from .lifecycle import Outcome, Timings
from .params import Call, items_page, matching, number, one_of, optional_string, page_request
from .records import OrderRecord, money, replace_fields
from .routes import Route
from .wire import ApiFailure, Reply, iso, new_id

if TYPE_CHECKING:
    from .state import KeyInfo, Simulator

LINE_TYPES = ("ADSL", "4G")
NUMBER_PATTERNS = {"ADSL": r"^0[0-9]{8}$", "4G": r"^213[0-9]{9}$"}
# The schema only asks for digits; the per-type format is checked after and answered with ERR_PHONE,
# as the docs' example does for "123456".
DIGITS = r"^[0-9]+$"
MAX_REF_LENGTH = 100


@dataclass
class StockedCard:
    """A value the simulator sells: its cost and whether it is in stock."""

    cost: Decimal
    available: bool = True


def default_catalog() -> dict[str, dict[Decimal, StockedCard]]:
    """The cards sold per line type: value -> cost (2 % discount) and stock flag."""
    adsl = {Decimal(v): StockedCard(Decimal(v) * Decimal("0.98")) for v in (500, 1000, 2000, 3000, 5000)}
    adsl[Decimal(5000)].available = False
    lte = {Decimal(v): StockedCard(Decimal(v) * Decimal("0.98")) for v in (1000, 1500, 2000, 3000, 4000)}
    return {"ADSL": adsl, "4G": lte}


@dataclass
class Topup(OrderRecord):
    """An internet top-up as the account keeps it; its status is read off ``steps`` on the clock."""

    id: str
    ref: str
    type: str
    number: str
    value: Decimal
    cost: Decimal
    created: float
    steps: tuple[tuple[float, str], ...]
    key_type: str
    refunded: bool = False
    spoiled: dict[str, Any] | None = None  # fields to replace (None: remove) in every view
    service = "internet"
    refund_type = "REFUND-ADSL"

    @property
    def refund_note(self) -> str:
        return f"Refund {self.type} {self.value} DA {self.number}"

    def view(self, now: float) -> dict[str, Any]:
        """The top-up object as check-id, check-ref and list return it."""
        status, reached = lifecycle.status_at(self.steps, now - self.created)
        data: dict[str, Any] = {
            "_id": self.id,
            "ref": self.ref,
            "status": status,
            "type": self.type,
            "number": self.number,
            "topup_amount": self.value,
        }
        if status == lifecycle.FULFILLED:
            processed_at = self.created_at + timedelta(seconds=reached)
            data.update(lifecycle.card_fields(self.id, processed_at))
            data["date_traitement"] = iso(processed_at)
        data["created_at"] = iso(self.created_at)
        return replace_fields(data, self.spoiled)


def catalog_from(catalog: dict[str, dict[Any, Any]]) -> dict[str, dict[Decimal, StockedCard]]:
    """A catalog given to the constructor: {type: {value: cost}} or {type: {value: (cost, available)}}."""
    result: dict[str, dict[Decimal, StockedCard]] = {}
    for line_type, products in catalog.items():
        result[line_type] = {}
        for value, spec in products.items():
            cost, available = spec if isinstance(spec, tuple | list) else (spec, True)
            result[line_type][money(value)] = StockedCard(money(cost), bool(available))
    return result


def unknown_line(number: str, line_type: str) -> ApiFailure:
    return ApiFailure(400, "ERR_PHONE", f"Invalid phone number for {line_type} service",
                      {"number": number, "type": line_type, "reason": "Number not found for this service"})


class InternetTopups:
    """The account's internet part: the card catalog and the send. Mixed into ``Simulator``, whose
    core (``state.AccountCore``) holds the lock, the balance, the refs and the ledger."""

    def _reset_part(self) -> None:
        super()._reset_part()
        self._catalog = copy.deepcopy(self._initial_catalog)

    def _product(self, line_type: str, value: Any) -> StockedCard:
        try:
            return self._catalog[line_type][money(value)]
        except KeyError:
            raise ValueError(f"no {line_type} product with value {value}") from None

    def set_stock(self, type: str, value: Any, available: bool) -> None:
        with self._lock:
            self._product(type, value).available = bool(available)

    def set_cost(self, type: str, value: Any, cost: Any) -> None:
        with self._lock:
            self._product(type, value).cost = money(cost)

    def add_product(self, type: str, value: Any, cost: Any, available: bool = True) -> None:
        if type not in LINE_TYPES:
            raise ValueError(f"type must be one of {LINE_TYPES}")
        with self._lock:
            self._catalog.setdefault(type, {})[money(value)] = StockedCard(money(cost), bool(available))

    def remove_product(self, type: str, value: Any) -> None:
        with self._lock:
            self._product(type, value)
            del self._catalog[type][money(value)]

    def products(self, line_type: str) -> list[dict[str, Any]]:
        with self._lock:
            catalog = self._catalog.get(line_type, {})
            return [{"value": value, "cost": p.cost, "available": p.available}
                    for value, p in sorted(catalog.items())]

    def _outcome_for(self, number: str, ref: str | None) -> Outcome:
        if ref is not None and ref in self._outcomes_by_ref:
            return self._outcomes_by_ref[ref]
        return self._outcomes_by_number.get(number) or lifecycle.outcome_for_number(number)

    def line_exists(self, number: str) -> bool:
        with self._lock:
            return self._outcome_for(number, None) is not Outcome.UNKNOWN_LINE

    def send_topup(self, *, line_type: str, number: str, value: Decimal, ref: str | None,
                   key: KeyInfo) -> Topup:
        """Accept an order: checks, debit and ledger row in one locked step.

        The ref is checked first, before stock and balance, so a client re-sending after a lost
        answer always learns DUPLICATED_REF rather than a refusal it could mistake for "not sent"
        (unless ``duplicate_check_last`` is set: the docs do not promise that order).
        """
        with self._lock:
            self._settle()
            if not self._config.duplicate_check_last:
                self._check_ref_unused(ref)
            outcome = self._outcome_for(number, ref)
            if outcome is Outcome.UNKNOWN_LINE:
                raise unknown_line(number, line_type)
            product = self._catalog.get(line_type, {}).get(value)
            if product is None:
                raise ApiFailure(400, "ERR_VALIDATION", "body/value must be one of the product values for this type",
                                 {"field": "value", "value": value})
            if not product.available:
                raise ApiFailure(400, "ERR_STOCK", "This card value is out of stock",
                                 {"type": line_type, "value": value})
            self._check_affordable(product.cost)
            if self._config.duplicate_check_last:
                self._check_ref_unused(ref)
            now = self._order_time()
            if ref is None:
                ref = self._generate_ref(now)
            timings = Timings(self._config.fulfil_after, self._config.queue_for, self._config.slow_after)
            charged = self._charge_overrides.pop(ref, product.cost)
            topup = Topup(id=new_id(), ref=ref, type=line_type, number=number, value=value, cost=charged,
                          created=now, steps=lifecycle.timeline(outcome, timings), key_type=key.type,
                          spoiled=self._spoiled_refs.get(ref))
            self._accept(topup, "ADSL", note=f"{line_type} {value} DA {number}")
            return replace(topup)

    def place_elsewhere(self, *, line_type: str = "ADSL", number: str = "036000001", value: Any = 1000,
                        ref: str | None = None) -> dict[str, Any]:
        """An order sent with this account's key by another program (a debit the dashboard never
        made): as a send would, with an outcome from ``number``."""
        key = next(iter(self._keys.values()))
        topup = self.send_topup(line_type=line_type, number=number, value=money(value), ref=ref, key=key)
        return {"_id": topup.id, "ref": topup.ref, "cost": topup.cost}


# Endpoints ------------------------------------------------------------------------------------------


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
    if sim.config["list_shape"] == "items":
        return Reply(items_page(page, topups))
    items, total_pages = page.slice(topups)
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
