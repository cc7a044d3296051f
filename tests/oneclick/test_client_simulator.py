"""The client against the simulator over real HTTP: the happy path, every injected fault, and the
key guard saving the account's failed-attempt budget."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from topups.oneclick import (
    DuplicatedRef,
    Forbidden,
    InsufficientBalance,
    InvalidAccessToken,
    IpBlocked,
    KeyRefused,
    LineType,
    MemoryKeyGuard,
    NotFound,
    OneClickClient,
    OutcomeUnknown,
    OutOfStock,
    PhoneError,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TopupStatus,
    TransportError,
)
from topups.oneclick.errors import BadResponse

testing = pytest.importorskip("topups.simulator.testing")

KEYS = {
    "k": {"type": "SANDBOX", "scope": "READ-WRITE", "allowed_ips": []},
    "read-only": {"type": "PRODUCTION", "scope": "READ-ONLY", "allowed_ips": []},
    "elsewhere": {"type": "PRODUCTION", "scope": "READ-WRITE", "allowed_ips": ["10.9.8.7"]},
}


@pytest.fixture
def api():
    with testing.serve_in_thread(keys=KEYS) as running:
        yield running


def client_for(api, key: str = "k", **kwargs) -> OneClickClient:
    options = {"get_retries": 3, "backoff_factor": 0, "read_timeout": 2.0, "key_guard": MemoryKeyGuard()}
    options.update(kwargs)
    return OneClickClient(api.url, key, **options)


def test_order_lifecycle(api):
    client = client_for(api)
    assert client.ping().api_ok
    account = client.validate()
    assert (account.key_type, account.scope) == ("SANDBOX", "READ-WRITE")
    opening = client.balance().amount
    products = client.internet_products("ADSL")
    assert products.type is LineType.ADSL
    card = next(p for p in products.products if p.value == 1000)
    check = client.check_number("4G", "213665983439")
    assert check.type is LineType.LTE and check.raw_type == "4GLTE"

    sent = client.send_topup(line_type="ADSL", number="036362608", value=1000, ref="order/1 é")
    assert sent.topup_ref == "order/1 é"
    assert client.check_id(sent.topup_id).status is TopupStatus.HANDLING
    api.simulator.advance(60)
    topup = client.check_ref("order/1 é")
    assert topup.status is TopupStatus.FULFILLED
    assert len(topup.card_code) == 12 and topup.num_trans
    assert topup.processed_at is not None and topup.processed_at.tzinfo is not None
    assert client.balance().amount == opening - card.cost
    [row] = client.transactions().items
    assert (row.type, row.amount, row.objid) == ("ADSL", card.cost, sent.topup_id)


def test_refunded_order_and_ledger(api):
    client = client_for(api)
    sent = client.send_topup(line_type="ADSL", number="036362690", value=500, ref="refund-me")
    api.simulator.advance(60)
    assert client.check_id(sent.topup_id).status is TopupStatus.REFUNDED
    assert [t.type for t in client.iter_transactions()] == ["REFUND-ADSL", "ADSL"]


@pytest.mark.parametrize("shape", ["topups", "items"])
def test_list_in_both_shapes_and_iteration(api, shape):
    api.simulator.configure(list_shape=shape)
    client = client_for(api)
    refs = [f"list-{i}" for i in range(5)]
    for ref in refs:
        client.send_topup(line_type="4G", number="213665983439", value=1000, ref=ref)
    page = client.list_topups(page=1, page_size=2)
    assert len(page.items) == 2 and page.total_pages == 3 and page.has_next
    assert sorted(t.ref for t in client.iter_topups(page_size=2)) == refs
    now = api.simulator.now()
    assert len(client.list_topups(from_=now - timedelta(hours=1), to=now + timedelta(hours=1)).items) == 5
    assert client.list_topups(from_=now + timedelta(hours=1), to=now + timedelta(hours=2)).items == ()


def test_documented_refusals(api):
    client = client_for(api)
    client.send_topup(line_type="ADSL", number="036362608", value=500, ref="dup")
    with pytest.raises(DuplicatedRef):
        client.send_topup(line_type="ADSL", number="036362608", value=500, ref="dup")
    with pytest.raises(OutOfStock):
        client.send_topup(line_type="ADSL", number="036362608", value=5000)
    with pytest.raises(PhoneError):
        client.check_number("ADSL", "036362699")
    with pytest.raises(NotFound):
        client.check_ref("never-sent")
    api.simulator.set_balance(100)
    with pytest.raises(InsufficientBalance) as info:
        client.send_topup(line_type="ADSL", number="036362608", value=500)
    assert info.value.details["required"] == 490


def test_read_only_key_is_forbidden_to_send_but_not_refused(api):
    client = client_for(api, "read-only")
    with pytest.raises(Forbidden):
        client.send_topup(line_type="ADSL", number="036362608", value=500)
    assert client.balance().amount > 0


# POST: one attempt per fault, and the class tells whether the order may exist ---------------------

POST_FAULTS = [
    # kind, expected exception, whether the simulator processed (debited) the order
    ("timeout_after_accept", OutcomeUnknown, True),
    ("error_500_after", OutcomeUnknown, True),
    ("reset_after", OutcomeUnknown, True),
    ("malformed", OutcomeUnknown, True),
    ("error_500_before", OutcomeUnknown, False),
    ("reset", OutcomeUnknown, False),
    ("unavailable", OutcomeUnknown, False),
    ("rate_limit", RateLimited, False),
]


@pytest.mark.parametrize(("kind", "expected", "processed"), POST_FAULTS, ids=[f[0] for f in POST_FAULTS])
def test_send_faults_are_sent_once(api, kind, expected, processed):
    api.simulator.inject_fault("send", kind, count=5, hang_seconds=2.0)
    client = client_for(api, read_timeout=0.5)
    with pytest.raises(expected) as info:
        client.send_topup(line_type="ADSL", number="036362608", value=1000, ref=f"fault-{kind}")
    assert type(info.value) is expected
    stats = api.simulator.stats()
    assert stats["calls"]["send"] == 1
    assert stats["refs"][f"fault-{kind}"]["attempts"] == 1
    assert stats["orders"] == (1 if processed else 0)
    # What a caller does after OutcomeUnknown: look the order up by its ref.
    if processed:
        assert client.check_ref(f"fault-{kind}").ref == f"fault-{kind}"
    else:
        with pytest.raises(NotFound):
            client.check_ref(f"fault-{kind}")


def test_send_with_latency_succeeds(api):
    api.simulator.inject_fault("send", "latency", latency_ms=50)
    assert client_for(api).send_topup(line_type="ADSL", number="036362608", value=1000).topup_id


def test_send_to_a_stopped_simulator_is_a_transport_error(api):
    client = client_for(api, get_retries=0)
    api.server.stop()
    with pytest.raises(TransportError):
        client.send_topup(line_type="ADSL", number="036362608", value=1000, ref="never")


# GET: retried through transient faults ---------------------------------------------------------

RETRIED = [
    "error_500_before",
    "error_500_after",
    "reset",
    "reset_after",
    "rate_limit",
    "unavailable",
    "timeout_after_accept",
]


@pytest.mark.parametrize("kind", RETRIED)
def test_get_recovers_from_transient_faults(api, kind):
    api.simulator.inject_fault("balance", kind, count=2, hang_seconds=1.0)
    balance = client_for(api, read_timeout=0.3).balance()
    assert isinstance(balance.amount, Decimal)
    assert api.simulator.stats()["calls"]["balance"] == 3


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("error_500_before", ServerError),
        ("rate_limit", RateLimited),
        ("unavailable", ServiceUnavailable),
        ("reset", TransportError),
        ("timeout_after_accept", TransportError),
    ],
)
def test_get_gives_up_after_its_retries(api, kind, expected):
    api.simulator.inject_fault("check-ref", kind, count=10, hang_seconds=1.0)
    with pytest.raises(expected):
        client_for(api, get_retries=2, read_timeout=0.3).check_ref("x")
    assert api.simulator.stats()["calls"]["check-ref"] == 3


def test_get_malformed_is_bad_response_not_retried(api):
    api.simulator.inject_fault("balance", "malformed")
    with pytest.raises(BadResponse):
        client_for(api).balance()
    assert api.simulator.stats()["calls"]["balance"] == 1


# Key guard ------------------------------------------------------------------------------------------


def test_wrong_key_burns_one_attempt_only(api):
    guard = MemoryKeyGuard()
    client = client_for(api, "wrong-key", key_guard=guard)
    with pytest.raises(InvalidAccessToken) as info:
        client.balance()
    assert info.value.attempts_left == 4
    for _ in range(10):  # a schedule keeps firing
        with pytest.raises(KeyRefused):
            client.balance()
        with pytest.raises(KeyRefused):
            client_for(api, "wrong-key", key_guard=guard).check_ref("x")
    assert api.simulator.stats()["auth_failures"]["total"] == 1
    # The good key still works from this IP: it was never blocked.
    assert client_for(api, "k", key_guard=guard).balance().amount > 0


def test_ip_not_whitelisted_is_ip_blocked_and_guarded(api):
    client = client_for(api, "elsewhere")
    with pytest.raises(IpBlocked) as info:
        client.validate()
    assert info.value.http_status == 403
    with pytest.raises(KeyRefused):
        client.validate()
    assert api.simulator.stats()["auth_failures"]["total"] == 1
