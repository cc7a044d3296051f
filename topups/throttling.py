"""Login throttling on top of django-axes: per username and address (axes' own rule), and per
account across addresses with a higher threshold.

An attacker with many addresses would otherwise get ``AXES_FAILURE_LIMIT`` tries per address on
the supervisor's account; with this handler the account itself is locked after
``LOGIN_ACCOUNT_FAILURE_LIMIT`` failures within the cool-off, wherever they came from.
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone


def account_failures(username: str | None) -> int:
    """Wrong passwords for this username within the cool-off, from every address."""
    if not username:
        return 0
    since = timezone.now() - get_cool_off()
    total = AccessAttempt.objects.filter(username=username, attempt_time__gte=since).aggregate(
        n=Sum("failures_since_start"))["n"]
    return total or 0


def account_locked(username: str | None) -> bool:
    return account_failures(username) >= settings.LOGIN_ACCOUNT_FAILURE_LIMIT


class AccountAwareHandler(AxesDatabaseHandler):
    """axes' database handler, whose failure count also reaches the limit when the account as a
    whole is over its own (higher) limit. axes compares this count with AXES_FAILURE_LIMIT both
    when a login fails and before checking a password, so one override covers both."""

    def get_failures(self, request, credentials=None) -> int:
        failures = super().get_failures(request, credentials)
        if account_locked(get_client_username(request, credentials)):
            return max(failures, settings.AXES_FAILURE_LIMIT)
        return failures
