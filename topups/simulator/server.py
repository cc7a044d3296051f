"""The HTTP layer: stdlib ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive.

One thread per connection, so concurrent clients are served concurrently; all state is in the
Simulator behind its lock. This module knows about sockets and nothing about top-ups: it resolves
the route, authenticates, applies latency and faults, runs the service handler and writes the
envelope. Faults that drop the connection are done here, because only here is there a socket.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from . import account, control, giftcards, internet, mobile, wire
from .faults import AFTER_KINDS, Fault
from .params import Call
from .routes import Route, resolve
from .state import Simulator
from .wire import ApiFailure, Reply

ROUTES: tuple[Route, ...] = (*account.ROUTES, *internet.ROUTES, *mobile.ROUTES, *giftcards.ROUTES)
ACCESS_TOKEN_HEADER = "X-Access-Token"
JSON = "application/json; charset=utf-8"
# What a "malformed" fault answers: a 200 whose JSON is cut in the middle.
MALFORMED_BODY = b'{"success":true,"data":{"topupId":"'


class SimulatorServer(ThreadingHTTPServer):
    """The HTTP server; ``stop()`` ends it quickly even while connections hang on a fault."""

    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up shutdown
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], simulator: Simulator, *,
                 log: Callable[[str], None] | None = None) -> None:
        self.simulator = simulator
        self.log = log
        self.stopping = threading.Event()  # hangs and latencies wait on it, so stop() wakes them
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, SimulatorHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def stop(self, *, serving: bool = True) -> None:
        """Stop accepting, wake every waiting handler and close open connections.

        ``serving`` says whether ``serve_forever`` is running in another thread (``shutdown``
        would wait forever otherwise)."""
        self.stopping.set()
        if serving:
            self.shutdown()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()


class SimulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections; Content-Length always sent
    server_version = "OneClickDZ-Simulator/1.0"
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    # Headers and body go out in two writes; with Nagle on, the second waits for the client's
    # delayed ACK and every call costs ~40 ms.
    disable_nagle_algorithm = True
    server: SimulatorServer

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes every request to stderr; we log one line of our own per request,
        # built from method, path and status only, so the key can never end up in a log.
        pass

    # -- request --------------------------------------------------------------------------------

    def _handle(self) -> None:
        started = time.monotonic()
        raw_path, _, query_string = self.path.partition("?")
        query = dict(parse_qsl(query_string, keep_blank_values=True))
        raw_body = self._read_body()
        result = "-"
        try:
            if raw_path == "/_sim" or raw_path.startswith("/_sim/"):
                status, payload = control.handle(self.server.simulator, self.command, raw_path, query,
                                                 _parse_json(raw_body))
                result = self._send(status, wire.dumps(payload))
            else:
                result = self._api(raw_path, query, raw_body)
        finally:
            if self.server.log is not None:
                elapsed = (time.monotonic() - started) * 1000
                self.server.log(f"{self.command} {raw_path} {result} {elapsed:.0f}ms")

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            return self.rfile.read(int(length))
        except ValueError:
            self.close_connection = True  # cannot find the end of this request: do not reuse
            return b""

    def _api(self, raw_path: str, query: dict[str, str], raw_body: bytes) -> str:
        sim = self.server.simulator
        request_id = wire.new_request_id(sim.now())
        resolved = resolve(ROUTES, self.command, raw_path)
        if resolved is None:
            error = ApiFailure(404, "NOT_FOUND", f"Route {self.command}:{raw_path} not found")
            return self._send(404, wire.dumps(wire.failure(error, request_id)))
        route, path_params = resolved
        sim.count_call(route.endpoint)
        body = _parse_json(raw_body)
        if route.ref_field and isinstance(body, dict) and isinstance(body.get(route.ref_field), str):
            sim.note_ref_attempt(body[route.ref_field])

        fault, extra_latency = sim.take_fault(route.endpoint)
        delay_ms = sim.config["latency_ms"] + extra_latency
        if fault is not None and fault.kind == "latency":
            delay_ms += fault.latency_ms
        if delay_ms > 0:
            self.server.stopping.wait(delay_ms / 1000)
        if fault is not None and not fault.processes_call:
            return self._fault_before(fault, request_id)

        call = Call(self.command, path_params, query, body, None, self.client_address[0])
        status, payload = self._process(route, call, request_id)
        if fault is not None and fault.kind in AFTER_KINDS:
            return self._fault_after(fault, request_id)
        return self._send(status, wire.dumps(payload))

    def _process(self, route: Route, call: Call, request_id: str) -> tuple[int, dict[str, Any]]:
        sim = self.server.simulator
        try:
            if route.auth:
                key = sim.authenticate(self.headers.get(ACCESS_TOKEN_HEADER), call.ip)
                if route.writes and key.scope == "READ-ONLY":
                    raise ApiFailure(403, "FORBIDDEN", "This API key is read-only")
                call = Call(call.method, call.path_params, call.query, call.body, key, call.ip)
            reply: Reply = route.handler(sim, call)
            return 200, wire.success(reply, sim.now(), request_id)
        except ApiFailure as error:
            return error.status, wire.failure(error, request_id)
        except Exception:  # a simulator bug must still answer with an envelope, and say so
            if self.server.log is not None:
                self.server.log(traceback.format_exc())
            error = ApiFailure(500, "INTERNAL_ERROR", "Internal server error")
            return 500, wire.failure(error, request_id)

    # -- faults ---------------------------------------------------------------------------------

    def _fault_before(self, fault: Fault, request_id: str) -> str:
        if fault.kind == "reset":
            return self._reset_connection()
        status, code, message = {
            "error_500_before": (500, "INTERNAL_ERROR", "Internal server error"),
            "rate_limit": (429, "RATE_LIMITED", "Too many requests"),
            "unavailable": (503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable"),
            "not_found": (404, "NOT_FOUND", "Top-up not found"),
        }[fault.kind]
        return self._send(status, wire.dumps(wire.failure(ApiFailure(status, code, message), request_id)))

    def _fault_after(self, fault: Fault, request_id: str) -> str:
        if fault.kind == "timeout_after_accept":
            # Hold the connection without answering so the client's read timeout fires, then
            # close it. Waiting on the server's event lets stop() end the hang at once.
            self.server.stopping.wait(fault.hang_seconds)
            self.close_connection = True
            return "HANG"
        if fault.kind == "reset_after":
            return self._reset_connection()
        if fault.kind == "malformed":
            return self._send(200, MALFORMED_BODY)
        error = ApiFailure(500, "INTERNAL_ERROR", "Internal server error")
        return self._send(500, wire.dumps(wire.failure(error, request_id)))

    def _reset_connection(self) -> str:
        """Close abruptly: SO_LINGER 0 makes close() send a TCP RST instead of a FIN."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # Drop the reader's reference too so the socket really closes now (not after finish(),
            # whose shutdown would send a FIN first). wfile stays open: the base class flushes it.
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass
        return "RESET"

    # -- response -------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes) -> str:
        try:
            self.send_response(status)
            self.send_header("Content-Type", JSON)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client went away; nothing more to say on this connection
            self.close_connection = True
        return str(status)


def _parse_json(raw: bytes) -> Any:
    """The JSON body, or None if there is none or it is not JSON (the handlers then refuse it)."""
    if not raw.strip():
        return None
    try:
        return wire.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def make_server(simulator: Simulator, host: str = "127.0.0.1", port: int = 0, *,
                log: Callable[[str], None] | None = None) -> SimulatorServer:
    """A bound server ready for ``serve_forever``; port 0 picks a free port."""
    return SimulatorServer((host, port), simulator, log=log)
