"""The key guard: once the API refused a key, no call is made with it again.

The API blocks the caller's IP after 5 failed key attempts, so after an authentication failure
(missing/invalid key, IP blocked) the client records the key's fingerprint in a ``KeyGuard`` and
refuses, without network, every further authenticated call with that key (``KeyRefused``) until the
key changes or the guard is cleared. The default guard lives in process memory and is shared by all
clients of the process; pass a shared (database) guard to cover several processes. A key not yet
known to work is probed by one call at a time: the guard's probe lock lets one caller through while
the others wait for its answer (then call, or raise ``KeyRefused``), or give up with
``KeyBeingChecked`` (nothing sent) when it does not come in time. So a wrong key costs one failed
call however many workers send at once.

A guard that fails cannot say whether a key may be used: the call is then not made
(``ConfigurationError``, fail closed), while a failure to *record* what the API answered is only
logged, for the answer matters more. Keys are named by their fingerprint, never by themselves.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Protocol, runtime_checkable

from .errors import ConfigurationError, KeyBeingChecked, KeyRefused, OneClickError

logger = logging.getLogger("topups.oneclick")

def key_fingerprint(api_key: str) -> str:
    """A short, stable, non-reversible name for a key (first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


@runtime_checkable
class KeyGuard(Protocol):
    """Remembers keys the API refused, by fingerprint, so no process keeps burning attempts."""

    def refused_reason(self, fingerprint: str) -> str | None:
        """Why this key was refused, or None when it may be used."""
        ...

    def refuse(self, fingerprint: str, reason: str) -> None:
        """Record that the API refused this key."""
        ...

    def clear(self, fingerprint: str) -> None:
        """Allow this key again (an operator fixed the key or the IP whitelist)."""
        ...

    def key_works(self, fingerprint: str) -> bool:
        """Whether the API has accepted this key since it was last refused."""
        ...

    def mark_works(self, fingerprint: str) -> None:
        """Record that the API accepted this key."""
        ...

    def try_probe(self, fingerprint: str, seconds: float) -> bool:
        """Take the probe lock for this key (at most ``seconds``), shared by every caller the
        guard covers; False when another caller holds it."""
        ...

    def end_probe(self, fingerprint: str) -> None:
        """Release the probe lock."""
        ...


class MemoryKeyGuard:
    """A ``KeyGuard`` in process memory (thread-safe)."""

    def __init__(self) -> None:
        self._refused: dict[str, str] = {}
        self._works: set[str] = set()
        self._probes: dict[str, float] = {}
        self._lock = threading.Lock()

    def refused_reason(self, fingerprint: str) -> str | None:
        return self._refused.get(fingerprint)

    def refuse(self, fingerprint: str, reason: str) -> None:
        with self._lock:
            self._refused[fingerprint] = reason
            self._works.discard(fingerprint)

    def clear(self, fingerprint: str) -> None:
        with self._lock:
            self._refused.pop(fingerprint, None)

    def key_works(self, fingerprint: str) -> bool:
        return fingerprint in self._works

    def mark_works(self, fingerprint: str) -> None:
        with self._lock:
            self._works.add(fingerprint)

    def try_probe(self, fingerprint: str, seconds: float) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._probes.get(fingerprint, 0.0) > now:
                return False
            self._probes[fingerprint] = now + seconds
            return True

    def end_probe(self, fingerprint: str) -> None:
        with self._lock:
            self._probes.pop(fingerprint, None)

    def __repr__(self) -> str:
        return f"MemoryKeyGuard(refused={sorted(self._refused)!r})"


#: The guard clients use when none is given: shared by every client of the process.
DEFAULT_KEY_GUARD = MemoryKeyGuard()


# What the client asks of the guard, around each authenticated call --------------------------------


def check_key(guard: KeyGuard, fingerprint: str) -> None:
    """Raise ``KeyRefused`` when the API refused this key earlier, and ``ConfigurationError`` when
    the guard cannot tell (fail closed, and say "not sent")."""
    try:
        reason = guard.refused_reason(fingerprint)
    except Exception as exc:
        raise ConfigurationError(f"Key guard unavailable ({type(exc).__name__}); no call made") from exc
    if reason:
        raise KeyRefused(
            f"The API refused key {fingerprint} earlier ({reason}); "
            "no call is made with it until the key changes or the refusal is cleared",
            details={"fingerprint": fingerprint, "reason": reason},
        )


def await_probe(guard: KeyGuard, fingerprint: str, wait: float) -> bool:
    """True when this call is the one probing a key not yet known to work (it holds the guard's
    probe lock: release it with ``end_probe``); False when the key is known to work. Waits while
    another caller probes, then raises ``KeyRefused`` if the API refused the key,
    ``KeyBeingChecked`` if no answer came within ``wait`` seconds (one call's time)."""
    if not hasattr(guard, "try_probe"):
        return False  # a guard without a probe lock: every caller calls
    deadline = time.monotonic() + wait
    try:
        while not guard.key_works(fingerprint):
            if guard.try_probe(fingerprint, wait + 5.0):
                # The previous prober may have finished between our last look and the lock.
                try:
                    check_key(guard, fingerprint)
                    if not guard.key_works(fingerprint):
                        return True
                except BaseException:
                    guard.end_probe(fingerprint)
                    raise
                guard.end_probe(fingerprint)
                return False
            if time.monotonic() > deadline:
                raise KeyBeingChecked(
                    f"Key {fingerprint} is being tried by another call; no call made",
                    details={"fingerprint": fingerprint})
            time.sleep(0.05)
            check_key(guard, fingerprint)  # raises KeyRefused once the probe was refused
    except OneClickError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"Key guard unavailable ({type(exc).__name__}); no call made") from exc
    return False


def end_probe(guard: KeyGuard, fingerprint: str) -> None:
    """Release the probe lock taken by ``await_probe``."""
    try:
        guard.end_probe(fingerprint)
    except Exception:
        logger.exception("Could not release the probe lock of key %s", fingerprint)


def record_works(guard: KeyGuard, fingerprint: str) -> None:
    """The API accepted the key: the callers waiting on its probe may call."""
    try:
        guard.mark_works(fingerprint)
    except Exception:
        logger.exception("Could not record that key %s works", fingerprint)


def record_refusal(guard: KeyGuard, fingerprint: str, reason: str) -> None:
    """The API refused the key: no further call is made with it."""
    try:
        guard.refuse(fingerprint, reason)
    except Exception:  # the API's answer matters more than the guard's failure
        logger.exception("Could not record the refusal of key %s", fingerprint)
    logger.warning("OneClickDZ refused key %s: %s; further calls with it are blocked", fingerprint, reason)


__all__ = [
    "DEFAULT_KEY_GUARD",
    "KeyGuard",
    "MemoryKeyGuard",
    "await_probe",
    "check_key",
    "end_probe",
    "key_fingerprint",
    "record_refusal",
    "record_works",
]
