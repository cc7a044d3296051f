"""At most once, for every product line: an answer lost after the API accepted the order, a 500
before it did, a TLS break after the POST left, a ref an earlier attempt already placed, and a ref a
stranger's top-up holds. Each scenario runs once per product line (internet, flexy, and the test-only
toy line of tests/lines/toy, a plug-in no shared code knows), through the one order pipeline and the
simulator over HTTP; the table below says how each line places an order and what the API holds."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
import requests

from tests import factories
from tests.lines import toy
from tests.orders.test_outcomes import assert_charged_is_not_hidden, refresh, send
from topups import lines
from topups.models import Order, OrderEvent, OrderStatus
from topups.services import account, orders

S = OrderStatus
pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Line:
    """How a test places an order of one service, and what the API holds for it."""

    service: str
    simulator: str  # the fixture the service's orders need: the catalog cached (internet) or not
    endpoint: str  # the simulator's name for the send endpoint (its faults)
    path: str  # the send endpoint's path behind the TLS front
    number: str  # our order's number (factories.ORDER_DEFAULTS)
    debit: Decimal  # what the API debits for our order
    stranger_number: str  # the number a stranger's top-up under our ref is for
    stranger_value: int  # and its value
    stranger_differs: frozenset  # what sets the stranger's top-up apart from our order
    number_field: str  # where the API's answer says the number
    api: str  # the API's product the line's orders are placed as (/v3/<api>/send)
    defaults: tuple = ()  # the order's fields beyond factories.ORDER_DEFAULTS

    def place(self, staff, **fields) -> Order:
        return factories.place(staff, service=self.service, **{**dict(self.defaults), **fields})

    def post_at_the_api(self, server, ref: str, *, number: str | None = None, value: int = 1000) -> dict:
        """Send straight to the API, as an earlier attempt or another tool would have."""
        number = number or self.number
        if self.api == "mobile":
            body = {"plan_code": "PREPAID_DJEZZY", "MSSIDN": number, "amount": value, "ref": ref}
        else:
            body = {"type": "ADSL", "number": number, "value": value, "ref": ref}
        answer = requests.post(f"{server.url}/{self.api}/send", headers={"X-Access-Token": "test-key-0000"},
                               json=body, timeout=5)
        assert answer.json()["success"], answer.json()
        return answer.json()


LINES = [
    Line("internet", simulator="synced", endpoint="send", path="/v3/internet/send", number="036362600",
         debit=Decimal("980"), stranger_number="036362611", stranger_value=1000,
         stranger_differs=frozenset({"number"}), number_field="number", api="internet"),
    Line("mobile", simulator="sim", endpoint="mobile-send", path="/v3/mobile/send", number="0778037340",
         debit=Decimal("992.50"), stranger_number="0778037341", stranger_value=500,
         stranger_differs=frozenset({"number", "value"}), number_field="MSSIDN", api="mobile"),
    Line("toy", simulator="sim", endpoint="send", path="/v3/internet/send", number="036362600",
         debit=Decimal("980"), stranger_number="036362611", stranger_value=1000,
         stranger_differs=frozenset({"number"}), number_field="number", api="internet",
         defaults=(("number", "036362600"), ("value", 1000))),
]


@pytest.fixture(params=LINES, ids=lambda line: line.service)
def line(request):
    if lines.find(request.param.service) is None:  # the toy line: registered for the test only
        toy.register()
        yield request.param
        toy.unregister()
    else:
        yield request.param


@pytest.fixture
def api(line, request):
    """The simulator, set up as the line's orders need it."""
    return request.getfixturevalue(line.simulator)


def test_a_timeout_after_accept_is_reconciled_by_ref_without_a_second_debit(api, line, staff, settings):
    settings.ONECLICKDZ_READ_TIMEOUT = 0.5
    account.reset_client()
    api.inject_fault(line.endpoint, "timeout_after_accept", count=1, hang_seconds=3)
    order = line.place(staff)
    report = send(order, staff)
    order.refresh_from_db()
    assert report.outcome == "unknown" and order.status == S.UNKNOWN and order.topup_id == ""
    order = refresh(order)  # found by its ref (check-ref of the service)
    assert order.status == S.HANDLING and order.topup_id
    api.advance(5)
    assert refresh(order).status == S.FULFILLED
    stats = api.stats()
    assert stats["refs"][order.ref] == {"orders": 1, "attempts": 1}
    assert stats["total_debited"] == line.debit


def test_500_before_accept_is_sent_again_with_the_same_ref_once_safe(api, line, staff, settings):
    api.inject_fault(line.endpoint, "error_500_before", count=1)
    order = line.place(staff)
    assert send(order, staff).outcome == "unknown"
    order = refresh(order)  # NOT_FOUND, but too early to resend
    assert order.status == S.UNKNOWN and api.stats()["refs"][order.ref]["orders"] == 0
    settings.ONECLICKDZ_RESEND_AFTER_SECONDS = 0
    refresh(order)  # NOT_FOUND and safe now: resent inline (tasks run synchronously in tests)
    order.refresh_from_db()
    assert order.status == S.HANDLING and order.send_attempts == 2
    assert api.stats()["refs"][order.ref] == {"orders": 1, "attempts": 2}


def test_a_tls_error_after_the_post_left_is_checked_by_ref_not_sent_again(api, line, tls_front, staff):
    tls_front.faults.inject("broken_record", path=line.path)
    order = line.place(staff)
    report = send(order, staff)
    order.refresh_from_db()
    assert report.outcome == "unknown" and order.status == S.UNKNOWN
    assert api.stats()["refs"][order.ref] == {"orders": 1, "attempts": 1}  # the API debited it
    cancelled, _skipped = orders.cancel_orders(Order.objects.filter(pk=order.pk), actor=staff)
    assert cancelled == []
    order = refresh(order)
    assert order.status == S.HANDLING and order.topup_id
    assert_charged_is_not_hidden(api, order, staff, debited=True)
    assert api.stats()["refs"][order.ref] == {"orders": 1, "attempts": 1}


def test_duplicated_ref_adopts_the_order_an_earlier_attempt_placed(api, line, simulator_server, staff):
    answer = line.post_at_the_api(simulator_server, "OC-ADOPT-1")
    order = line.place(staff, ref="OC-ADOPT-1")
    report = send(order, staff)
    order.refresh_from_db()
    assert report.outcome == "adopted"
    assert order.status == S.HANDLING and order.topup_id == answer["data"]["topupId"]
    stats = api.stats()
    assert stats["refs"]["OC-ADOPT-1"] == {"orders": 1, "attempts": 2}
    assert stats["total_debited"] == line.debit


def test_duplicated_ref_held_by_a_strangers_top_up_is_never_adopted(api, line, simulator_server, staff):
    line.post_at_the_api(simulator_server, "OC-CSV-7", number=line.stranger_number, value=line.stranger_value)
    order = line.place(staff, ref="OC-CSV-7")
    report = send(order, staff)
    order.refresh_from_db()
    assert report.status == S.ATTENTION and order.status == S.ATTENTION
    assert order.topup_id == "" and order.card_code == ""
    api.advance(5)  # the stranger's top-up is fulfilled: it is not ours to show
    order = refresh(order)
    assert order.status == S.ATTENTION and order.card_code == ""
    event = OrderEvent.objects.get(order=order, to_status=S.ATTENTION)
    assert event.payload["ours"]["number"] == line.number
    assert event.payload["api"][line.number_field] == line.stranger_number
    assert set(event.payload["differences"]) == line.stranger_differs
