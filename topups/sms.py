"""Sending a text message through the shop's SMS gateway: one small interface, one HTTP
implementation. No Django here (like the API client): the notices service builds the gateway
from the settings and hands it the number and the text.

Local SMS gateways (a phone running a gateway app, Kannel, Gammu's SMSD behind a web front, a
provider's box) all take a number and a text over HTTP; they differ in the address and the method.
``HttpSmsGateway`` is configured by a URL in which ``{to}`` and ``{text}`` are replaced
(URL-encoded); a POST also sends ``to`` and ``text`` as a form. Any 2xx answer is a message
handed over; anything else raises ``SmsError`` so the caller may try again later."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

import requests


class SmsError(Exception):
    """The gateway did not take the message (unreachable, timed out, or answered other than 2xx)."""


class SmsGateway(Protocol):
    def send(self, *, to: str, text: str) -> None:
        """Hand one message to the gateway, or raise SmsError."""


class HttpSmsGateway:
    """A gateway reached over HTTP at ``url`` (with ``{to}`` / ``{text}`` placeholders)."""

    def __init__(self, url: str, *, method: str = "POST", timeout: float = 10.0,
                 session: requests.Session | None = None) -> None:
        if method not in ("GET", "POST"):
            raise ValueError(f"NOTICE_SMS_METHOD must be GET or POST, not {method!r}")
        self.url, self.method, self.timeout = url, method, timeout
        self.session = session or requests.Session()

    def send(self, *, to: str, text: str) -> None:
        url = self.url.replace("{to}", quote(to, safe="")).replace("{text}", quote(text, safe=""))
        data = {"to": to, "text": text} if self.method == "POST" else None
        try:
            response = self.session.request(self.method, url, data=data, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SmsError(f"gateway unreachable: {type(exc).__name__}") from exc
        if not 200 <= response.status_code < 300:
            raise SmsError(f"gateway answered HTTP {response.status_code}")
