"""Refusals without network: bad input, missing key, a key the API already refused. Also: the key
never shows in reprs, exceptions or logs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses

from topups.oneclick import (
    ConfigurationError,
    Forbidden,
    InvalidAccessToken,
    InvalidRequest,
    IpBlocked,
    KeyGuard,
    KeyRefused,
    LineType,
    MemoryKeyGuard,
    MissingAccessToken,
    OneClickClient,
    key_fingerprint,
)

BASE = "https://api.test/v3"
KEY = "ea27b376-9f5c-4b09-883f-1b96cd7b541c"
OK_BALANCE = {"success": True, "data": {"balance": 10}}
UTC_NOW = datetime(2025, 10, 29, tzinfo=UTC)


@pytest.fixture
def guard() -> MemoryKeyGuard:
    return MemoryKeyGuard()


@pytest.fixture
def client(guard) -> OneClickClient:
    return OneClickClient(BASE, KEY, get_retries=0, backoff_factor=0, key_guard=guard)


@pytest.fixture
def mocked():
    # No URL registered: any HTTP call would fail the test (and is counted in mocked.calls).
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


# Bad input -------------------------------------------------------------------------------------

BAD_CALLS = [
    ("check_number", ("ADSL", None), {}),
    ("check_number", ("ADSL", ""), {}),
    ("check_number", ("ADSL", "   "), {}),
    ("check_number", ("ADSL", 36362608), {}),
    ("check_number", ("ADSL", "36362608"), {}),
    ("check_number", ("ADSL", "0363626081"), {}),
    ("check_number", ("ADSL", "+213636362608"), {}),
    ("check_number", ("ADSL", "213636362608"), {}),
    ("check_number", ("4G", "0665983439"), {}),
    ("check_number", ("4G", "665983439"), {}),
    ("check_number", ("4G", "036362608"), {}),
    ("check_number", ("FIBRE", "036362608"), {}),
    ("check_number", (None, "036362608"), {}),
    ("check_number", ("", "036362608"), {}),
    ("internet_products", ("3G",), {}),
    ("internet_products", (4,), {}),
    ("send_topup", (), {"line_type": "ADSL", "number": "", "value": 1000}),
    ("send_topup", (), {"line_type": "ADSL", "number": None, "value": 1000}),
    ("send_topup", (), {"line_type": "ADSL", "number": "36362608", "value": 1000}),
    ("send_topup", (), {"line_type": "MOBILE", "number": "036362608", "value": 1000}),
    ("send_topup", (), {"line_type": "ADSL", "number": "036362608", "value": 0}),
    ("send_topup", (), {"line_type": "ADSL", "number": "036362608", "value": -500}),
    ("send_topup", (), {"line_type": "ADSL", "number": "036362608", "value": float("nan")}),
    ("send_topup", (), {"line_type": "ADSL", "number": "036362608", "value": float("inf")}),
    ("send_topup", (), {"line_type": "ADSL", "number": "036362608", "value": Decimal("NaN")}),
    ("send_topup", (), {"line_type": "ADSL", "number": "036362608", "value": "abc"}),
    ("send_topup", (), {"line_type": "ADSL", "number": "036362608", "value": None}),
    ("send_topup", (), {"line_type": "ADSL", "number": "036362608", "value": True}),
    ("send_topup", (), {"line_type": "ADSL", "number": "036362608", "value": 1000, "ref": ""}),
    ("send_topup", (), {"line_type": "ADSL", "number": "036362608", "value": 1000, "ref": "  "}),
    ("check_id", ("",), {}),
    ("check_id", (None,), {}),
    ("check_ref", ("",), {}),
    ("check_ref", ("   ",), {}),
    ("list_topups", (), {"page": 0}),
    ("list_topups", (), {"page": -1}),
    ("list_topups", (), {"page": "1"}),
    ("list_topups", (), {"page": True}),
    ("list_topups", (), {"page_size": 0}),
    ("list_topups", (), {"page_size": 101}),
    ("transactions", (), {"page_size": 1.5}),
    ("transactions", (), {"from_": UTC_NOW}),
    ("transactions", (), {"to": UTC_NOW}),
    ("transactions", (), {"from_": datetime(2025, 10, 1), "to": datetime(2025, 10, 2)}),  # naive
    ("list_topups", (), {"from_": UTC_NOW, "to": datetime(2025, 10, 1, tzinfo=UTC)}),  # reversed
    ("list_topups", (), {"from_": "2025-10-01", "to": "2025-10-02"}),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), BAD_CALLS)
def test_bad_input_raises_before_any_http_call(client, mocked, method, args, kwargs):
    with pytest.raises(InvalidRequest):
        getattr(client, method)(*args, **kwargs)
    assert len(mocked.calls) == 0


def test_bad_input_is_also_a_value_error(client, mocked):
    with pytest.raises(ValueError):
        client.check_number("ADSL", "1")


def test_iter_topups_checks_its_filters_when_called(client, mocked):
    with pytest.raises(InvalidRequest):
        client.iter_topups(page_size=500)
    with pytest.raises(InvalidRequest):
        client.iter_transactions(from_=UTC_NOW)
    assert len(mocked.calls) == 0


@pytest.mark.parametrize("line_type", ["ADSL", "adsl", LineType.ADSL])
def test_line_types_accepted_for_adsl(client, mocked, line_type):
    mocked.get(f"{BASE}/internet/products", json={"success": True, "data": {"products": [], "type": "ADSL"}})
    client.internet_products(line_type)
    assert mocked.calls[0].request.params == {"type": "ADSL"}


@pytest.mark.parametrize("line_type", ["4G", "4GLTE", "4g", "LTE", LineType.LTE])
def test_line_types_accepted_for_4g_are_sent_as_4g(client, mocked, line_type):
    mocked.get(
        f"{BASE}/internet/check-number", json={"success": True, "data": {"ncli": "1*", "type": "4GLTE"}}
    )
    client.check_number(line_type, " 213665983439 ")
    assert mocked.calls[0].request.params == {"type": "4G", "number": "213665983439"}


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        (1000, "1000"),
        (Decimal("1000.00"), "1000"),
        ("2000", "2000"),
        (500.0, "500"),
        (Decimal("99.5"), "99.5"),
    ],
)
def test_value_is_sent_as_a_json_number(client, mocked, value, sent):
    mocked.post(f"{BASE}/internet/send", json={"success": True, "data": {"topupId": "a", "topupRef": "b"}})
    client.send_topup(line_type="ADSL", number="036362608", value=value)
    assert f'"value": {sent}'.encode() in mocked.calls[0].request.body
    assert b'"ref"' not in mocked.calls[0].request.body  # omitted: the API generates one


# Configuration ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", None, "   "])
def test_missing_key_is_a_configuration_error_without_network(mocked, key):
    client = OneClickClient(BASE, key, key_guard=MemoryKeyGuard())
    for call in (client.validate, client.balance, lambda: client.check_ref("x")):
        with pytest.raises(ConfigurationError):
            call()
    with pytest.raises(ConfigurationError):
        client.send_topup(line_type="ADSL", number="036362608", value=1000)
    assert len(mocked.calls) == 0


def test_ping_works_without_a_key(mocked):
    mocked.get(f"{BASE}/ping", json={"success": True, "data": {"api": "ok", "operators": {}}})
    assert OneClickClient(BASE, "").ping().api_ok


@pytest.mark.parametrize("base_url", ["", "api.oneclickdz.com/v3", "ftp://x/v3"])
def test_bad_base_url_is_a_configuration_error(mocked, base_url):
    with pytest.raises(ConfigurationError):
        OneClickClient(base_url, KEY).balance()
    assert len(mocked.calls) == 0


def test_trailing_slash_in_base_url(mocked):
    mocked.get(f"{BASE}/account/balance", json=OK_BALANCE)
    OneClickClient(BASE + "/", KEY, key_guard=MemoryKeyGuard()).balance()
    assert mocked.calls[0].request.url == f"{BASE}/account/balance"


# Key guard ----------------------------------------------------------------------------------------

AUTH_FAILURES = [
    (
        401,
        {
            "success": False,
            "error": {"code": "INVALID_ACCESS_TOKEN", "message": "bad", "details": {"attemptsLeft": 4}},
        },
        InvalidAccessToken,
    ),
    (
        400,
        {"success": False, "error": {"code": "MISSING_ACCESS_TOKEN", "message": "Access token is required"}},
        MissingAccessToken,
    ),
    (403, {"success": False, "error": {"code": "IP_BLOCKED", "message": "IP Blocked"}}, IpBlocked),
    (401, {"unexpected": "body"}, InvalidAccessToken),
]


@pytest.mark.parametrize(("status", "body", "cls"), AUTH_FAILURES)
def test_key_guard_stops_the_second_call(client, guard, mocked, status, body, cls):
    mocked.get(f"{BASE}/account/balance", json=body, status=status)
    with pytest.raises(cls):
        client.balance()
    assert guard.refused_reason(key_fingerprint(KEY))
    for call in (client.balance, client.validate, lambda: client.check_id("abc")):
        with pytest.raises(KeyRefused) as info:
            call()
        assert info.value.details["fingerprint"] == key_fingerprint(KEY)
    with pytest.raises(KeyRefused):
        client.send_topup(line_type="ADSL", number="036362608", value=1000)
    assert len(mocked.calls) == 1


def test_key_guard_is_shared_by_clients_of_the_guard_and_keyed_by_key(guard, mocked):
    mocked.get(f"{BASE}/account/balance", json={"success": False, "error": {"code": "ERR_AUTH"}}, status=401)
    first = OneClickClient(BASE, KEY, key_guard=guard)
    with pytest.raises(InvalidAccessToken):
        first.balance()
    with pytest.raises(KeyRefused):
        OneClickClient(BASE, KEY, key_guard=guard).balance()  # another process/client, same key
    assert len(mocked.calls) == 1

    mocked.replace(responses.GET, f"{BASE}/account/balance", json=OK_BALANCE)
    assert OneClickClient(BASE, "rotated-key", key_guard=guard).balance().amount == 10  # key changed
    guard.clear(key_fingerprint(KEY))
    assert first.balance().amount == 10  # an operator cleared the refusal


def test_key_guard_does_not_stop_ping(client, mocked):
    mocked.get(f"{BASE}/account/balance", json={"success": False, "error": {"code": "ERR_AUTH"}}, status=401)
    mocked.get(f"{BASE}/ping", json={"success": True, "data": {"api": "ok", "operators": {}}})
    with pytest.raises(InvalidAccessToken):
        client.balance()
    assert client.ping().api_ok


def test_other_refusals_do_not_trip_the_guard(client, guard, mocked):
    body = {"success": False, "error": {"code": "FORBIDDEN", "message": "READ-ONLY key"}}
    mocked.post(f"{BASE}/internet/send", json=body, status=403)
    mocked.get(f"{BASE}/account/balance", json=OK_BALANCE)
    with pytest.raises(Forbidden):
        client.send_topup(line_type="ADSL", number="036362608", value=1000)
    assert guard.refused_reason(key_fingerprint(KEY)) is None
    assert client.balance().amount == 10


def test_memory_key_guard_satisfies_the_protocol():
    assert isinstance(MemoryKeyGuard(), KeyGuard)


def test_default_guard_is_shared_across_clients():
    first, second = OneClickClient(BASE, KEY), OneClickClient(BASE, "other")
    assert first.key_guard is second.key_guard


# The key stays secret -------------------------------------------------------------------------------


def test_fingerprint_is_not_the_key():
    fingerprint = key_fingerprint(KEY)
    assert len(fingerprint) == 16
    assert KEY not in fingerprint and fingerprint not in KEY
    assert fingerprint == key_fingerprint(KEY)
    assert fingerprint != key_fingerprint(KEY + "x")


def test_key_never_in_repr_errors_or_logs(client, mocked, caplog):
    caplog.set_level(logging.DEBUG, logger="topups.oneclick")
    mocked.get(f"{BASE}/account/balance", json=OK_BALANCE)
    mocked.get(
        f"{BASE}/validate",
        json={"success": False, "error": {"code": "ERR_AUTH", "message": "bad"}},
        status=401,
    )
    assert repr(client) == f"OneClickClient(base_url={BASE!r}, key={key_fingerprint(KEY)!r})"
    client.balance()
    errors = []
    for call in (client.validate, client.balance):
        with pytest.raises(Exception) as info:
            call()
        errors.append(info.value)
    texts = [repr(client), caplog.text] + [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [str(e.details) for e in errors]
    for text in texts:
        assert KEY not in text
    assert "GET /account/balance -> 200 in" in caplog.text
    assert "GET /validate -> 401 in" in caplog.text


def test_one_debug_line_per_call(client, mocked, caplog):
    caplog.set_level(logging.DEBUG, logger="topups.oneclick")
    mocked.get(f"{BASE}/account/balance", json=OK_BALANCE)
    client.balance()
    client.balance()
    lines = [r for r in caplog.records if r.name == "topups.oneclick"]
    assert len(lines) == 2
    assert all(r.levelno == logging.DEBUG for r in lines)


class BrokenGuard:
    def refused_reason(self, fingerprint):
        raise RuntimeError("database is down")

    def refuse(self, fingerprint, reason):
        raise RuntimeError("database is down")

    def clear(self, fingerprint):
        pass


def test_unreadable_guard_fails_closed_as_configuration_error(mocked):
    client = OneClickClient(BASE, KEY, key_guard=BrokenGuard())
    with pytest.raises(ConfigurationError):
        client.send_topup(line_type="ADSL", number="036362608", value=1000)
    assert len(mocked.calls) == 0


def test_guard_failing_to_record_does_not_hide_the_api_error(mocked):
    class WriteBroken(MemoryKeyGuard):
        def refuse(self, fingerprint, reason):
            raise RuntimeError("database is down")

    mocked.get(f"{BASE}/account/balance", json={"success": False, "error": {"code": "ERR_AUTH"}}, status=401)
    with pytest.raises(InvalidAccessToken):
        OneClickClient(BASE, KEY, key_guard=WriteBroken()).balance()
