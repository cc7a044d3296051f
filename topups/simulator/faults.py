"""Faults the simulator can inject into the next calls of an endpoint, or draw at random.

A fault either replaces the processing of a call (``*_before`` kinds, ``reset``, ``rate_limit``,
``unavailable``) or spoils the answer of a call that was processed normally (``*_after`` kinds,
``timeout_after_accept``, ``malformed``). The second family is what makes a client's money-safety
visible: the order exists and was debited, but the client never learns it.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

ENDPOINTS = (
    "ping",
    "validate",
    "balance",
    "transactions",
    "products",
    "check-number",
    "send",
    "check-id",
    "check-ref",
    "list",
    "mobile-plans",
    "mobile-send",
    "mobile-check-id",
    "mobile-check-ref",
    "mobile-list",
    "gift-catalog",
    "gift-check-product",
    "gift-place-order",
    "gift-check-order",
    "gift-list",
)
ANY_ENDPOINT = "*"

# Kinds that answer (or drop the connection) without processing the call.
# ``not_found`` is a lookup (check-id, check-ref) answering 404 NOT_FOUND for an order that
# exists: the lag of a read replica right after the order was accepted.
BEFORE_KINDS = ("error_500_before", "reset", "rate_limit", "unavailable", "not_found")
# Kinds that process the call first, then spoil or withhold the answer.
AFTER_KINDS = ("timeout_after_accept", "error_500_after", "reset_after", "malformed")
KINDS = ("latency", *BEFORE_KINDS, *AFTER_KINDS)


@dataclass(frozen=True)
class Fault:
    kind: str
    latency_ms: float = 0.0
    hang_seconds: float = 30.0

    @property
    def processes_call(self) -> bool:
        return self.kind not in BEFORE_KINDS


@dataclass
class _Queued:
    fault: Fault
    remaining: int


@dataclass
class _Mix:
    weights: dict[str, float]
    rng: random.Random
    extra_latency_ms: tuple[float, float] | None
    latency_ms: float
    hang_seconds: float


def check_endpoint(endpoint: str) -> str:
    if endpoint != ANY_ENDPOINT and endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {', '.join(ENDPOINTS)} or '*'")
    return endpoint


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind


class FaultBook:
    """Queued faults and random mixes per endpoint. Not thread-safe: the Simulator's lock guards it."""

    def __init__(self) -> None:
        self._queued: dict[str, deque[_Queued]] = {}
        self._mixes: dict[str, _Mix] = {}

    def inject(self, endpoint: str, fault: Fault, count: int) -> None:
        check_endpoint(endpoint)
        check_kind(fault.kind)
        if count < 1:
            raise ValueError("count must be at least 1")
        self._queued.setdefault(endpoint, deque()).append(_Queued(fault, count))

    def set_mix(
        self,
        endpoint: str,
        weights: dict[str, float],
        *,
        seed: int | None,
        extra_latency_ms: tuple[float, float] | None,
        latency_ms: float,
        hang_seconds: float,
    ) -> None:
        check_endpoint(endpoint)
        for kind, probability in weights.items():
            check_kind(kind)
            if probability < 0:
                raise ValueError("probabilities must be >= 0")
        if sum(weights.values()) > 1:
            raise ValueError("probabilities must add up to at most 1 (each call draws at most one fault)")
        if extra_latency_ms is not None:
            low, high = extra_latency_ms
            if low < 0 or high < low:
                raise ValueError("extra_latency_ms must be (low, high) with 0 <= low <= high")
            extra_latency_ms = (float(low), float(high))
        self._mixes[endpoint] = _Mix(dict(weights), random.Random(seed), extra_latency_ms, latency_ms, hang_seconds)

    def clear(self) -> None:
        self._queued.clear()
        self._mixes.clear()

    def take(self, endpoint: str) -> tuple[Fault | None, float]:
        """The fault for this call (or None) and the random extra latency in ms from a mix."""
        for key in (endpoint, ANY_ENDPOINT):
            queue = self._queued.get(key)
            if queue:
                entry = queue[0]
                entry.remaining -= 1
                if entry.remaining == 0:
                    queue.popleft()
                return entry.fault, 0.0
        for key in (endpoint, ANY_ENDPOINT):
            mix = self._mixes.get(key)
            if mix is not None:
                return self._draw(mix)
        return None, 0.0

    @staticmethod
    def _draw(mix: _Mix) -> tuple[Fault | None, float]:
        extra = mix.rng.uniform(*mix.extra_latency_ms) if mix.extra_latency_ms else 0.0
        roll = mix.rng.random()
        threshold = 0.0
        for kind, probability in mix.weights.items():
            threshold += probability
            if roll < threshold:
                return Fault(kind, latency_ms=mix.latency_ms, hang_seconds=mix.hang_seconds), extra
        return None, extra

    def describe(self) -> dict[str, object]:
        return {
            "queued": {
                endpoint: [
                    {"kind": q.fault.kind, "remaining": q.remaining, "latency_ms": q.fault.latency_ms,
                     "hang_seconds": q.fault.hang_seconds}
                    for q in queue
                ]
                for endpoint, queue in self._queued.items()
                if queue
            },
            "mixes": {
                endpoint: {"weights": mix.weights, "extra_latency_ms": mix.extra_latency_ms}
                for endpoint, mix in self._mixes.items()
            },
        }
