"""The API account: the client factory, the shared key guard, balance and key validation."""

from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from topups.models import ApiAccount
from topups.oneclick import OneClickClient
from topups.selectors import (  # noqa: F401 (reads of the account, said account.X by callers too)
    UNREACHABLE,
    current_account,
    current_fingerprint,
    unreachable_since,
)

log = logging.getLogger("topups.account")
KEY_WORKS, KEY_PROBE = "topups.api-key-works", "topups.api-key-probe"
KEY_WORKS_SECONDS = 24 * 3600  # then the key is probed again, one call at a time


class DatabaseKeyGuard:
    """Key guard shared by every process (web, qcluster workers) through the database.

    Once the API refuses a key, no process calls with it again until the key changes:
    the API blocks the caller's IP after 5 failed attempts, and a schedule must not burn them.
    """

    def refused_reason(self, fingerprint: str) -> str | None:
        reason = (
            ApiAccount.objects.filter(key_fingerprint=fingerprint).values_list("refused_reason", flat=True).first()
        )
        return reason or None

    def refuse(self, fingerprint: str, reason: str) -> None:
        cache.delete(f"{KEY_WORKS}:{fingerprint}")
        ApiAccount.objects.update_or_create(
            key_fingerprint=fingerprint,
            defaults={"refused_reason": reason[:255], "refused_at": timezone.now()},
        )
        log.warning("API key %s… refused by the API: %s", fingerprint[:8], reason)

    def clear(self, fingerprint: str) -> None:
        ApiAccount.objects.filter(key_fingerprint=fingerprint).update(refused_reason="", refused_at=None)

    # A key not known to work is tried by one call at a time, whatever the process: the probe
    # lock is a cache.add (atomic in Redis and in the database cache), the "works" mark a cache
    # entry that a refusal deletes.
    def key_works(self, fingerprint: str) -> bool:
        return bool(cache.get(f"{KEY_WORKS}:{fingerprint}"))

    def mark_works(self, fingerprint: str) -> None:
        if not self.key_works(fingerprint):
            cache.set(f"{KEY_WORKS}:{fingerprint}", True, timeout=KEY_WORKS_SECONDS)

    def try_probe(self, fingerprint: str, seconds: float) -> bool:
        return cache.add(f"{KEY_PROBE}:{fingerprint}", True, timeout=max(1, round(seconds)))

    def end_probe(self, fingerprint: str) -> None:
        cache.delete(f"{KEY_PROBE}:{fingerprint}")


REACHED_RECHECK_SECONDS = 30.0


class CacheReachability:
    """Whether the API answers, shared by every process through the cache: the first failure's
    time and cause, the URL called. A process that reaches the API clears the record; it clears
    it at once after a failure of its own, otherwise at most every ``REACHED_RECHECK_SECONDS``
    (another process may have recorded a failure), so a working API costs no cache call per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_clear = 0.0

    def reached(self, base_url: str) -> None:
        with self._lock:
            if time.monotonic() < self._next_clear:
                return
            self._next_clear = time.monotonic() + REACHED_RECHECK_SECONDS
        cache.delete(UNREACHABLE)

    def unreachable(self, base_url: str, cause: str) -> None:
        now = timezone.now()
        record = cache.get(UNREACHABLE)
        if not record or record.get("url") != base_url:
            record = {"url": base_url, "since": now}
            log.warning("OneClickDZ API at %s cannot be reached: %s", base_url, cause)
        cache.set(UNREACHABLE, {**record, "cause": cause, "last": now}, timeout=None)
        with self._lock:
            self._next_clear = 0.0


@lru_cache(maxsize=4)
def _client(base_url: str, api_key: str, connect_timeout: float, read_timeout: float, get_retries: int,
            backoff: float) -> OneClickClient:
    return OneClickClient(
        base_url,
        api_key,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        get_retries=get_retries,
        backoff_factor=backoff,
        key_guard=DatabaseKeyGuard(),
        reachability=CacheReachability(),
    )


def get_client() -> OneClickClient:
    """The client for the configured URL, key, timeouts and retries (one Session per process and
    configuration)."""
    return _client(
        settings.ONECLICKDZ_API_URL,
        settings.ONECLICKDZ_API_KEY,
        settings.ONECLICKDZ_CONNECT_TIMEOUT,
        settings.ONECLICKDZ_READ_TIMEOUT,
        settings.ONECLICKDZ_GET_RETRIES,
        settings.ONECLICKDZ_RETRY_BACKOFF,
    )


def reset_client() -> None:
    """Forget the clients made so far: the next call builds one from the current settings
    (after the URL or key changed in a test or a benchmark)."""
    _client.cache_clear()


def _account_row() -> ApiAccount:
    account, _ = ApiAccount.objects.get_or_create(key_fingerprint=current_fingerprint())
    return account


def fetch_balance(account: ApiAccount | None = None) -> ApiAccount:
    """Fetch the balance and cache it with its fetch time (one UPDATE on ``account``, the row of
    the configured key when the caller has read it already). Raises the client's errors."""
    balance = get_client().balance()
    account = account or _account_row()
    account.balance, account.balance_fetched_at = balance.amount, timezone.now()
    ApiAccount.objects.filter(pk=account.pk).update(balance=account.balance,
                                                    balance_fetched_at=account.balance_fetched_at)
    return account


def validate_key() -> ApiAccount:
    """Ask /validate which account and environment the key belongs to, and cache it."""
    info = get_client().validate()
    with transaction.atomic():
        account = _account_row()
        account.username = info.username
        account.key_type = info.key_type
        account.scope = info.scope
        account.validated_at = timezone.now()
        account.save(update_fields=["username", "key_type", "scope", "validated_at"])
    return account


def refresh_account() -> ApiAccount | None:
    """The balance schedule: validate the key once a day, refresh the balance every run.

    Returns None when there is no key or the key is refused (nothing is called then).
    """
    if not settings.ONECLICKDZ_API_KEY:
        return None
    account = current_account()
    if account and account.refused_reason:
        return None
    if account is None or account.validated_at is None or (timezone.now() - account.validated_at).days >= 1:
        account = validate_key()
    return fetch_balance(account)
