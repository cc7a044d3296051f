"""A TLS front for the simulator: clients speak HTTPS to it, it forwards each request to the
simulator over plain HTTP and relays the answer, and it can spoil the TLS of that answer.

The fault it exists for: ``broken_record`` forwards the request (so a send is processed and
debited), then writes a TLS record that cannot be decrypted instead of the answer. The client's
TLS layer fails while *reading the response*, which urllib3 reports as the same ``SSLError`` as a
handshake failure: a client that reads every TLS error as "never sent" loses a debited order.
``handshake`` closes the connection during the handshake (nothing is forwarded): the safe case.

Stdlib only; the self-signed certificate (for 127.0.0.1 and localhost) is made once per process
with the ``openssl`` command line. Clients trust it through ``front.ca_file`` (``verify=`` or the
``REQUESTS_CA_BUNDLE`` environment variable).
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TLS_FAULTS = ("broken_record", "handshake")
# An application-data record header (TLS 1.2/1.3 framing) followed by bytes no key decrypts.
BROKEN_RECORD = b"\x17\x03\x03\x00\x40" + bytes(range(64))
MAX_HEADER_BYTES = 64 * 1024


@lru_cache(maxsize=1)
def self_signed_certificate() -> tuple[str, str]:
    """(certificate file, key file) of a throwaway certificate for 127.0.0.1 and localhost."""
    folder = Path(tempfile.mkdtemp(prefix="oneclick-tls-"))
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


class _Faults:
    """Queued TLS faults per kind, then a seeded random draw per kind; counts what fired.

    ``handshake`` is decided when a connection is accepted, ``broken_record`` once a request
    has been read (each request of a kept-alive connection draws again). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: Counter[tuple[str, str]] = Counter()  # (kind, path prefix or "") -> count
        self._mix: dict[str, float] = {}
        self._rng = random.Random()
        self.fired: Counter[str] = Counter()

    @staticmethod
    def _check(kind: str) -> str:
        if kind not in TLS_FAULTS:
            raise ValueError(f"unknown TLS fault {kind!r}; expected one of {', '.join(TLS_FAULTS)}")
        return kind

    def inject(self, kind: str, count: int = 1, path: str = "") -> None:
        """Queue ``kind`` for the next ``count`` connections (handshake) or requests whose path
        starts with ``path`` (broken_record; e.g. ``/v3/internet/send``)."""
        with self._lock:
            self._queued[(self._check(kind), path)] += count

    def set_mix(self, mix: dict[str, float], seed: int | None = None) -> None:
        for kind, probability in mix.items():
            self._check(kind)
            if not 0 <= probability <= 1:
                raise ValueError("probabilities must be between 0 and 1")
        with self._lock:
            self._mix, self._rng = dict(mix), random.Random(seed)

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()
            self._mix = {}

    def take(self, kind: str, path: str = "") -> bool:
        """Whether this connection (handshake) or this request (broken_record) gets ``kind``."""
        with self._lock:
            queued = next((key for key, n in self._queued.items()
                           if n > 0 and key[0] == kind and path.startswith(key[1])), None)
            if queued is not None:
                self._queued[queued] -= 1
                hit = True
            else:
                hit = kind in self._mix and self._rng.random() < self._mix[kind]
            if hit:
                self.fired[kind] += 1
            return hit


def _read_message(stream, *, response: bool) -> bytes | None:
    """One HTTP/1.1 message (headers + Content-Length body) from a file object, or None at EOF."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline(MAX_HEADER_BYTES)
        if not line:
            return None
        if head == b"" and line in (b"\r\n", b"\n"):
            continue
        head += line
        if len(head) > MAX_HEADER_BYTES:
            return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    body = stream.read(length) if length else b""
    if len(body) < length:
        return None if response else head + body
    return head + body


class _Handler(socketserver.BaseRequestHandler):
    server: TlsFrontServer

    def handle(self) -> None:
        front = self.server.front
        raw: socket.socket = self.request
        if front.faults.take("handshake"):
            raw.close()  # nothing forwarded: the client's handshake fails before it writes anything
            return
        try:
            tls = front.context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            return
        with contextlib.closing(tls), tls.makefile("rb") as reader:
            while True:
                request = _read_message(reader, response=False)
                if request is None:
                    return
                answer = front.forward(request)
                if answer is None:
                    return  # the simulator dropped the connection (a reset or hang fault): so do we
                path = request.split(b" ", 2)[1].decode("latin-1") if request.count(b" ") >= 2 else ""
                if front.faults.take("broken_record", path):
                    # Bypass the TLS layer: the client gets a record it cannot decrypt.
                    with contextlib.suppress(OSError), socket.socket(fileno=os.dup(tls.fileno())) as plain:
                        plain.sendall(BROKEN_RECORD)
                    return
                try:
                    tls.sendall(answer)
                except OSError:
                    return


class TlsFrontServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], front: TlsFront) -> None:
        self.front = front
        super().__init__(address, _Handler)


@dataclass
class TlsFront:
    """HTTPS on ``host:port`` in front of the plain simulator at ``backend``."""

    backend: tuple[str, int]
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        self.cert_file, key_file = self_signed_certificate()
        self.ca_file = self.cert_file  # self-signed: the certificate is its own authority
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(self.cert_file, key_file)
        self.faults = _Faults()
        self._server = TlsFrontServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}/v3"

    def forward(self, request: bytes) -> bytes | None:
        """Send one request to the simulator on a fresh connection; its answer, or None."""
        try:
            with socket.create_connection(self.backend, timeout=120) as upstream:
                upstream.sendall(request)
                with upstream.makefile("rb") as reader:
                    return _read_message(reader, response=True)
        except OSError:
            return None

    def start(self) -> TlsFront:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"oneclick-tls-front-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


@contextlib.contextmanager
def tls_front(backend_host: str, backend_port: int) -> Iterator[TlsFront]:
    """A started TLS front for a simulator served on ``backend_host:backend_port``."""
    front = TlsFront((backend_host, backend_port)).start()
    try:
        yield front
    finally:
        front.stop()


__all__ = ["TLS_FAULTS", "TlsFront", "tls_front"]
