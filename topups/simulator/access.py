"""Who may call the simulated API: its keys (type, scope, IP whitelist) and the lockout of an IP
after five failed keys. ``KeyChecks`` is mixed into ``Simulator``; ``authenticate`` is what the HTTP
layer asks before any handler runs."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .wire import ApiFailure

MAX_KEY_FAILURES = 5
KEY_TYPES = ("SANDBOX", "PRODUCTION")
KEY_SCOPES = ("READ-WRITE", "READ-ONLY")
AUTH_FAILURE_REASONS = ("missing", "invalid", "blocked", "ip_not_allowed")


@dataclass(frozen=True)
class KeyInfo:
    type: str = "SANDBOX"
    scope: str = "READ-WRITE"
    allowed_ips: tuple[str, ...] = ()
    masked: str = "****"


def key_info(key: str, spec: dict[str, Any] | None) -> KeyInfo:
    spec = spec or {}
    key_type = spec.get("type", "SANDBOX")
    scope = spec.get("scope", "READ-WRITE")
    if not key:
        raise ValueError("a key cannot be empty")
    if key_type not in KEY_TYPES:
        raise ValueError(f"key type must be one of {KEY_TYPES}")
    if scope not in KEY_SCOPES:
        raise ValueError(f"key scope must be one of {KEY_SCOPES}")
    # /validate shows the key; we show only its last 4 characters so it never travels back in full.
    masked = "*" * 8 + key[-4:] if len(key) >= 12 else "*" * 8
    return KeyInfo(key_type, scope, tuple(spec.get("allowed_ips", ())), masked)


class KeyChecks:
    """The keys and the per-IP failure counts; the lock, clock and config are the core's."""

    def _reset_part(self) -> None:
        super()._reset_part()
        self._keys = dict(self._initial_keys)
        self._failures: Counter[str] = Counter()
        self._blocked_until: dict[str, float] = {}

    def add_key(self, key: str, *, type: str = "SANDBOX", scope: str = "READ-WRITE",
                allowed_ips: tuple[str, ...] | list[str] = ()) -> None:
        with self._lock:
            self._keys[key] = key_info(key, {"type": type, "scope": scope, "allowed_ips": allowed_ips})

    def authenticate(self, key: str | None, ip: str) -> KeyInfo:
        """Check the key and the caller's IP; raises ApiFailure with the API's auth codes.

        Failed keys are counted per IP. The 5th failure still answers 401 (attemptsLeft 0) and
        starts the block; every call from that IP is then refused with 403 IP_BLOCKED until the
        block ends, even with a good key. The count restarts when the block ends.
        """
        with self._lock:
            now = self.clock.time()
            blocked_until = self._blocked_until.get(ip)
            if blocked_until is not None:
                if now < blocked_until:
                    self._auth_failures["blocked"] += 1
                    raise ApiFailure(403, "IP_BLOCKED", "Too many failed attempts: this IP is temporarily blocked",
                                     {"retryAfter": math.ceil(blocked_until - now)})
                del self._blocked_until[ip]
                self._failures[ip] = 0
            if not key:
                self._auth_failures["missing"] += 1
                raise ApiFailure(self._config.missing_token_status, "MISSING_ACCESS_TOKEN", "Access token is required")
            info = self._keys.get(key)
            if info is None:
                self._auth_failures["invalid"] += 1
                self._failures[ip] += 1
                attempts_left = max(MAX_KEY_FAILURES - self._failures[ip], 0)
                if attempts_left == 0:
                    self._blocked_until[ip] = now + self._config.block_seconds
                raise ApiFailure(401, "INVALID_ACCESS_TOKEN", "The provided access token is invalid",
                                 {"attemptsLeft": attempts_left})
            if info.allowed_ips and ip not in info.allowed_ips:
                self._auth_failures["ip_not_allowed"] += 1
                raise ApiFailure(403, "IP_NOT_ALLOWED", "Your IP address is not allowed to use this API key",
                                 {"ip": ip})
            return info
