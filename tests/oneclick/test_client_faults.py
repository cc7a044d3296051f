"""Faults: which exception each one gives, that a POST is sent exactly once whatever happens,
and that GETs are retried. A tiny scripted HTTP server gives real sockets (timeouts, resets,
truncated bodies); ``responses`` covers the cases a socket cannot stage reliably."""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, SSLError

from topups.oneclick import (
    BadResponse,
    InsufficientBalance,
    MemoryKeyGuard,
    OneClickClient,
    OutcomeUnknown,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TransportError,
)

OK_SEND = {
    "success": True,
    "data": {"topupId": "690161a3e9e88196b4eb6545", "topupRef": "r-1"},
    "requestId": "req_1_a",
}
OK_BALANCE = {
    "success": True,
    "data": {"balance": 1326.13},
    "meta": {"timestamp": "2025-10-29T00:35:58.710Z"},
}
SEND = {"line_type": "ADSL", "number": "036362608", "value": 1000, "ref": "r-1"}


def envelope_error(code: str, message: str = "boom") -> dict:
    return {"success": False, "error": {"code": code, "message": message}, "requestId": "req_1_err"}


class ScriptedServer:
    """Answers each request with the next scripted action; counts requests per (method, path)."""

    def __init__(self) -> None:
        self.script: deque[tuple] = deque()
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with server.lock:
                    server.calls.append((self.command, self.path.split("?")[0]))
                    action = server.script.popleft() if server.script else ("json", 200, OK_BALANCE)
                server.perform(self, action)

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # clients hanging up is the point
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v3"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def perform(self, handler: BaseHTTPRequestHandler, action: tuple) -> None:
        kind = action[0]
        if kind == "sleep":  # stay silent past the client's read timeout, then answer
            time.sleep(action[1])
            action = ("json", 200, action[2])
            kind = "json"
        if kind == "json":
            _, status, body, *rest = action
            self.send(handler, status, json.dumps(body).encode(), rest[0] if rest else {})
        elif kind == "raw":
            _, status, data = action
            self.send(handler, status, data, {"Content-Type": "text/html"})
        elif kind == "reset":  # RST instead of an answer
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.connection.close()
            handler.close_connection = True
        elif kind == "close":  # FIN without an answer
            handler.connection.shutdown(socket.SHUT_RDWR)
            handler.close_connection = True
        elif kind == "truncated":  # headers promise more body than is sent
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", "500")
            handler.end_headers()
            handler.wfile.write(b'{"success": true, "da')
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)
            handler.close_connection = True
        else:  # pragma: no cover
            raise AssertionError(kind)

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def count(self, method: str, path: str) -> int:
        return self.calls.count((method, "/v3" + path))


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def make_client(url: str, **kwargs) -> OneClickClient:
    options = {"get_retries": 3, "backoff_factor": 0, "read_timeout": 2.0, "key_guard": MemoryKeyGuard()}
    options.update(kwargs)
    return OneClickClient(url, "test-key", **options)


def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/v3"


# POST: sent exactly once, whatever happens ----------------------------------------------------

POST_FAULTS = [
    pytest.param(("sleep", 1.0, OK_SEND), OutcomeUnknown, id="read-timeout-after-accept"),
    pytest.param(("reset",), OutcomeUnknown, id="connection-reset"),
    pytest.param(("close",), OutcomeUnknown, id="closed-without-answer"),
    pytest.param(("truncated",), OutcomeUnknown, id="body-cut-short"),
    pytest.param(("json", 500, envelope_error("INTERNAL_ERROR")), OutcomeUnknown, id="500-envelope"),
    pytest.param(("raw", 502, b"<html>Bad gateway</html>"), OutcomeUnknown, id="502-html"),
    pytest.param(("json", 503, envelope_error("SERVICE_UNAVAILABLE")), OutcomeUnknown, id="503"),
    pytest.param(("raw", 200, b"<html>not json</html>"), OutcomeUnknown, id="200-garbage"),
    pytest.param(("json", 200, {"hello": "world"}), OutcomeUnknown, id="200-json-not-envelope"),
    pytest.param(("json", 200, {"success": True, "data": {}}), OutcomeUnknown, id="200-without-topup-id"),
    pytest.param(("json", 429, envelope_error("RATE_LIMITED")), RateLimited, id="429-not-processed"),
    pytest.param(("raw", 429, b"slow down"), RateLimited, id="429-without-envelope"),
    pytest.param(
        ("json", 403, envelope_error("INSUFFICIENT_BALANCE")), InsufficientBalance, id="403-refusal"
    ),
]


@pytest.mark.parametrize(("action", "expected"), POST_FAULTS)
def test_post_is_sent_exactly_once(server, action, expected):
    server.script.extend([action] * 5)
    client = make_client(server.url, read_timeout=0.3)
    with pytest.raises(expected) as info:
        client.send_topup(**SEND)
    assert type(info.value) is expected
    assert server.count("POST", "/internet/send") == 1


def test_post_outcome_unknown_keeps_the_api_answer(server):
    server.script.append(("json", 500, envelope_error("INTERNAL_ERROR", "database down")))
    with pytest.raises(OutcomeUnknown) as info:
        make_client(server.url).send_topup(**SEND)
    error = info.value
    assert error.code == "OUTCOME_UNKNOWN"
    assert error.http_status == 500
    assert error.request_id == "req_1_err"
    assert error.details["api_code"] == "INTERNAL_ERROR"
    assert isinstance(error.__cause__, ServerError)


def test_post_connection_refused_is_a_transport_error():
    client = make_client(closed_port_url(), get_retries=0)
    with pytest.raises(TransportError) as info:
        client.send_topup(**SEND)
    assert type(info.value) is TransportError
    assert info.value.details["cause"] == "could not connect"


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ConnectionError(
            MaxRetryError(None, "/v3/internet/send", NewConnectionError(None, "refused"))
        ),
        requests.exceptions.SSLError(MaxRetryError(None, "/v3/internet/send", SSLError(
            ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed certificate")))),
    ],
    ids=["connect-timeout", "new-connection-error", "certificate-refused"],
)
def test_post_never_sent_is_a_transport_error(exc):
    with responses.RequestsMock() as mocked:
        mocked.post("https://api.test/v3/internet/send", body=exc)
        with pytest.raises(TransportError) as info:
            make_client("https://api.test/v3").send_topup(**SEND)
    assert type(info.value) is TransportError


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectionError("Connection aborted."),
        requests.exceptions.ChunkedEncodingError("IncompleteRead"),
        # urllib3 raises the same SSLError when the *answer* fails to decrypt, after the POST left.
        requests.exceptions.SSLError(MaxRetryError(None, "/v3/internet/send", SSLError(
            ssl.SSLError(1, "[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] decryption failed or bad record mac")))),
        requests.exceptions.SSLError("TLS error"),
    ],
    ids=["read-timeout", "aborted", "chunked", "tls-bad-record", "tls-unexplained"],
)
def test_post_maybe_sent_is_outcome_unknown(exc):
    with responses.RequestsMock() as mocked:
        mocked.post("https://api.test/v3/internet/send", body=exc)
        with pytest.raises(OutcomeUnknown):
            make_client("https://api.test/v3").send_topup(**SEND)
        assert len(mocked.calls) == 1


def test_post_is_configured_never_to_retry_once_sent():
    client = make_client("https://api.test/v3")
    retry = client.session.get_adapter("https://api.test/v3/internet/send").max_retries
    assert retry.allowed_methods == frozenset({"GET"})
    assert not retry.is_retry("POST", 500)
    assert not retry.is_retry("POST", 429)
    assert retry.is_retry("GET", 503)
    assert retry.respect_retry_after_header


# GET: retried, then a clear error ------------------------------------------------------------


def test_get_read_timeout_is_retried(server):
    server.script.extend([("sleep", 0.6, OK_BALANCE), ("json", 200, OK_BALANCE)])
    balance = make_client(server.url, read_timeout=0.3).balance()
    assert str(balance.amount) == "1326.13"
    assert server.count("GET", "/account/balance") == 2


def test_get_5xx_is_retried_until_success(server):
    server.script.extend(
        [("json", 500, envelope_error("INTERNAL_ERROR")), ("raw", 502, b"<html/>"), ("json", 200, OK_BALANCE)]
    )
    make_client(server.url).balance()
    assert server.count("GET", "/account/balance") == 3


def test_get_5xx_gives_server_error_after_retries(server):
    server.script.extend([("json", 503, envelope_error("SERVICE_UNAVAILABLE"))] * 10)
    with pytest.raises(ServiceUnavailable) as info:
        make_client(server.url, get_retries=2).balance()
    assert info.value.request_id == "req_1_err"
    assert server.count("GET", "/account/balance") == 3


def test_get_429_is_retried_then_rate_limited(server):
    server.script.extend([("json", 429, envelope_error("RATE_LIMITED"), {"Retry-After": "0"})] * 10)
    with pytest.raises(RateLimited) as info:
        make_client(server.url, get_retries=3).balance()
    assert info.value.http_status == 429
    assert server.count("GET", "/account/balance") == 4


def test_get_429_honours_retry_after(server):
    server.script.extend(
        [("json", 429, envelope_error("RATE_LIMITED"), {"Retry-After": "1"}), ("json", 200, OK_BALANCE)]
    )
    started = time.monotonic()
    make_client(server.url).balance()
    assert time.monotonic() - started >= 0.9
    assert server.count("GET", "/account/balance") == 2


@pytest.mark.parametrize("action", [("reset",), ("close",)], ids=["reset", "closed"])
def test_get_dropped_connections_are_retried_then_transport_error(server, action):
    server.script.extend([action] * 10)
    with pytest.raises(TransportError):
        make_client(server.url, get_retries=2).check_id("690161a3e9e88196b4eb6545")
    assert server.count("GET", "/internet/check-id/690161a3e9e88196b4eb6545") == 3


def test_get_recovers_after_a_reset(server):
    server.script.extend([("reset",), ("json", 200, OK_BALANCE)])
    make_client(server.url).balance()
    assert server.count("GET", "/account/balance") == 2


def test_get_connection_refused_is_a_transport_error():
    with pytest.raises(TransportError):
        make_client(closed_port_url(), get_retries=1).balance()


@pytest.mark.parametrize(
    "action",
    [
        ("raw", 200, b"<html>captive portal</html>"),
        ("json", 200, [1, 2]),
        ("json", 200, {"success": True, "data": []}),
    ],
    ids=["html", "json-list", "data-wrong-shape"],
)
def test_get_garbage_is_bad_response_and_not_retried(server, action):
    server.script.append(action)
    with pytest.raises(BadResponse) as info:
        make_client(server.url).balance()
    assert info.value.http_status == 200
    assert server.count("GET", "/account/balance") == 1


def test_get_error_status_without_envelope_uses_the_status(server):
    server.script.append(("raw", 404, b"<html>no such page</html>"))
    from topups.oneclick import NotFound

    with pytest.raises(NotFound) as info:
        make_client(server.url).check_ref("nope")
    assert info.value.http_status == 404


def test_redirects_are_not_followed(server):
    server.script.append(("json", 302, {"moved": True}, {"Location": "http://evil.invalid/steal"}))
    from topups.oneclick import ApiError

    with pytest.raises(ApiError) as info:
        make_client(server.url).balance()
    assert info.value.http_status == 302
    assert len(server.calls) == 1


def test_every_call_has_an_explicit_timeout():
    seen = []

    class RecordingSession(requests.Session):
        def request(self, method, url, **kwargs):
            seen.append(kwargs.get("timeout"))
            return super().request(method, url, **kwargs)

    client = OneClickClient(
        "https://api.test/v3",
        "k",
        connect_timeout=1.5,
        read_timeout=7,
        session=RecordingSession(),
        key_guard=MemoryKeyGuard(),
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.get("https://api.test/v3/ping", json={"success": True, "data": {"api": "ok", "operators": {}}})
        mocked.get("https://api.test/v3/account/balance", json=OK_BALANCE)
        mocked.post("https://api.test/v3/internet/send", json=OK_SEND)
        client.ping()
        client.balance()
        client.send_topup(**SEND)
    assert seen == [(1.5, 7.0)] * 3


# TLS through a real front: the answer spoiled after the simulator processed the POST -----------


@pytest.fixture
def tls_api(monkeypatch):
    from topups.simulator.testing import serve_in_thread
    from topups.simulator.tlsfront import tls_front

    with serve_in_thread(keys={"k-tls": None}) as api, tls_front(api.host, api.port) as front:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", front.ca_file)  # requests prefers it to session.verify
        yield api.simulator, front


def test_post_whose_answer_fails_to_decrypt_is_outcome_unknown(tls_api):
    simulator, front = tls_api
    client = OneClickClient(front.url, "k-tls", get_retries=0)
    assert client.balance().amount > 0  # the front relays normally
    front.faults.inject("broken_record")
    with pytest.raises(OutcomeUnknown) as info:
        client.send_topup(**SEND)
    assert info.value.details["cause"] == "TLS error"
    assert simulator.stats()["refs"]["r-1"] == {"orders": 1, "attempts": 1}  # it was debited


def test_post_to_an_untrusted_certificate_is_never_sent(tls_api, monkeypatch):
    simulator, front = tls_api
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())  # the front's certificate is not in it
    with pytest.raises(TransportError) as info:
        OneClickClient(front.url, "k-tls", get_retries=0).send_topup(**SEND)
    assert type(info.value) is TransportError
    assert "send" not in simulator.stats()["calls"]
