"""Throttles. Logins, on top of django-axes: per username and address (axes' own rule), and per
account across addresses with a higher threshold. Number and plan checks, per user, with
django-ratelimit (``checks_throttled``).

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
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import is_ratelimited


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


# Checks a clerk asks while typing. A number check costs an API call (the shop's quota, and an
# address the API may block, which stops sales too); a plan check reads the cached plans, and is
# asked at every pause in typing. Per user, so a stolen session cannot burn the quota or walk
# through numbers, and one busy clerk does not slow another.
NUMBER_CHECKS = "topups.number-checks"  # check-number.json: one API call each (unless cached)
PLAN_CHECKS = "topups.plan-checks"  # flexy-check.json and the flexy form's "Show plans and price"
TOO_MANY_CHECKS = _("Too many checks in a short time: wait a moment, then try again.")


def checks_throttled(request, group: str) -> bool:
    """Count this check for ``request.user`` and say whether it is over the group's rate
    (NUMBER_CHECK_RATE or PLAN_CHECK_RATE, "count/period" as django-ratelimit reads it).

    The counter lives in the default cache: Redis in production (an atomic increment); the
    database cache without Redis, where two checks at the same instant may count once: a throttle
    that is off by one under a race still stops 40 checks in half a second."""
    rate = settings.NUMBER_CHECK_RATE if group == NUMBER_CHECKS else settings.PLAN_CHECK_RATE
    return is_ratelimited(request, group=group, key="user", rate=rate, increment=True)
