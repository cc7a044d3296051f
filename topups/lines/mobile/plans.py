"""Mobile top-ups ("flexy"): numbers, operators, the cached plan list, and the check of an order
before it is created (``check_mobile``), which ``MobileLine.check_item`` (the one sale door), the
counter's live check and the bulk files use.

A mobile number (the API's ``MSSIDN``) is 10 digits, ``0`` then 5 (Ooredoo), 6 (Mobilis) or 7
(Djezzy). Staff may type it with spaces, dashes, ``+213``, ``00213`` or Arabic-Indic digits:
``normalise_mobile`` lives with the other number forms in ``topups.numbers`` (the orders search
finds a mobile number in any of them) and is used from here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from topups import inputs
from topups.lines.base import SaleRefused
from topups.models import NETWORK_OF_OPERATOR, ApiAccount, MobilePlan, PlanKind
from topups.notes import Note
from topups.numbers import OPERATOR_BY_PREFIX, normalise_mobile
from topups.oneclick import errors as api_errors
from topups.prices import cost_of
from topups.services.account import current_fingerprint, get_client

log = logging.getLogger("topups.mobile")

OPERATORS = tuple(OPERATOR_BY_PREFIX.values())
CENT = Decimal("0.01")
PLANS_LOCK = "topups:mobile-plans-first-use"
WHOLE_AMOUNT = gettext_noop("The amount must be a whole number of dinars, such as 500.")
TOO_LARGE_AMOUNT = gettext_noop("The amount cannot be more than %(max)s DA.")


class MobileInputError(SaleRefused):
    """A mobile order that cannot be sent as asked; the message is for staff (a ``SaleRefused``:
    ``str(exc)`` is the sentence in the active language, ``note`` keeps the message and its
    parameters for whoever stores it, a bulk file's preview, to word it later)."""


# Numbers -----------------------------------------------------------------------------------------


def operator_of(number: str) -> str:
    """Ooredoo, Mobilis or Djezzy, from a normalised number's prefix (05, 06, 07)."""
    return OPERATOR_BY_PREFIX[normalise_mobile(number)[1]]


def operators_of_network(network: str) -> list[str]:
    """The plan operator names that top up ``network``'s numbers (Mobilis: Pixx, Sama, GMobilis...)."""
    return [network, *(op for op, net in NETWORK_OF_OPERATOR.items() if net == network)]


# The cached plans ---------------------------------------------------------------------------------


@dataclass
class PlanSyncReport:
    created: int = 0
    updated: int = 0
    removed: int = 0
    failed: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed


def sync_plans() -> PlanSyncReport:
    """Update MobilePlan rows from /mobile/plans (the daily schedule, the admin's refresh and the
    first use). A plan the API no longer lists is deleted; a failed fetch changes nothing."""
    report = PlanSyncReport()
    try:
        listing = get_client().mobile_plans()
    except api_errors.OneClickError as exc:
        log.warning("mobile plans sync failed: %s", exc)
        report.failed = str(exc)
        return report
    now = timezone.now()
    seen = {item.code: item for item in listing}
    with transaction.atomic():
        existing = {p.code: p for p in MobilePlan.objects.select_for_update()}
        to_create, to_update = [], []
        for code, item in seen.items():
            row = existing.get(code) or MobilePlan(code=code)
            row.name, row.operator, row.kind, row.is_enabled = item.name[:128], item.operator[:32], item.kind, \
                item.is_enabled
            row.min_amount, row.max_amount, row.amount = item.min_amount, item.max_amount, item.amount
            row.multiplier, row.fetched_at = item.multiplier, now
            (to_update if row.pk else to_create).append(row)
        gone = [code for code in existing if code not in seen]
        MobilePlan.objects.bulk_create(to_create)
        MobilePlan.objects.bulk_update(to_update, ["name", "operator", "kind", "is_enabled", "min_amount",
                                                   "max_amount", "amount", "multiplier", "fetched_at"])
        MobilePlan.objects.filter(code__in=gone).delete()
        ApiAccount.objects.update_or_create(key_fingerprint=current_fingerprint(),
                                            defaults={"plans_synced_at": now})
    report.created, report.updated, report.removed = len(to_create), len(to_update), len(gone)
    return report


def plans_due() -> bool:
    """Never fetched with this key, or older than two refresh periods."""
    row = ApiAccount.objects.filter(key_fingerprint=current_fingerprint()).only("plans_synced_at").first()
    synced = row.plans_synced_at if row else None
    return synced is None or timezone.now() - synced > timedelta(minutes=2 * settings.MOBILE_PLANS_REFRESH_MINUTES)


def ensure_plans_fresh() -> None:
    """Fetch the plans now when they are missing or stale, one caller at a time (a cache lock, kept
    for its 30 s after a failure so pages do not each wait on an API that does not answer)."""
    if not settings.ONECLICKDZ_API_KEY or not plans_due() or not cache.add(PLANS_LOCK, True, timeout=30):
        return
    if sync_plans().ok:
        cache.delete(PLANS_LOCK)


def plans(operator: str | None = None) -> list[MobilePlan]:
    """The cached plans (fetched first when missing or stale), enabled first; with ``operator``
    (Mobilis, Djezzy, Ooredoo), only the plans that top up its numbers."""
    ensure_plans_fresh()
    rows = MobilePlan.objects.all()
    if operator:
        rows = rows.filter(operator__in=operators_of_network(operator))
    return list(rows.order_by("-is_enabled", "operator", "kind", "amount", "min_amount", "code"))


# Checking an order --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MobileQuote:
    """A mobile order as it will be sent: the plan, the normalised number, the amount (face value,
    DZD; 0 for a GETMENU plan) and its cost to the shop (None: the API does not say until it
    answers). ``notes``: what staff should know (the cost is unknown...)."""

    plan: MobilePlan
    number: str
    amount: Decimal
    cost: Decimal | None
    notes: tuple[str, ...] = field(default=())

    @property
    def operator(self) -> str:
        return self.plan.network


def check_mobile(plan_code: str, number: str, amount=None, *, plan: MobilePlan | None = None) -> MobileQuote:
    """Check a mobile order before anything is created or sent; raise ValidationError for a number
    that is not a mobile number, MobileInputError (a clear message) for anything else: a plan
    vanished or disabled, a number of another operator, an amount missing, not whole or out of
    range. ``plan``: the row the caller already holds (else the cache is read, refreshed if stale)."""
    number = normalise_mobile(number)
    plan = plan if plan is not None and plan.code == plan_code else _plan(plan_code)
    if not plan.is_enabled:
        raise MobileInputError(Note(gettext_noop("The plan %(plan)s is unavailable at the moment: choose another plan."),
                                    plan=plan.name or plan.code))
    operator = OPERATOR_BY_PREFIX[number[1]]
    if plan.network != operator:
        raise MobileInputError(Note(gettext_noop("%(number)s is a %(operator)s number; the plan %(plan)s tops up "
                                                 "%(network)s numbers."), number=number, operator=operator,
                                    plan=plan.name or plan.code, network=plan.network))
    amount = _amount_for(plan, amount)
    cost = Decimal(0) if plan.is_menu else cost_of(plan, amount)
    notes = ()
    if cost is None:
        notes = (_("The API does not give this plan's cost: it is known once the API has answered."),)
    return MobileQuote(plan, number, amount, cost, notes)


def _plan(plan_code: str) -> MobilePlan:
    code = (plan_code or "").strip()
    if not code:
        raise MobileInputError(Note(gettext_noop("Choose a plan.")))
    ensure_plans_fresh()
    plan = MobilePlan.objects.filter(code=code).first()
    if plan is None:
        raise MobileInputError(Note(gettext_noop("The plan %(code)s is no longer offered by the API: choose another "
                                                 "plan."), code=code))
    return plan


def parse_whole_amount(raw) -> Decimal | None:
    """An amount typed by a person or a file, in whole dinars, read by the one bounded parser
    (``inputs.parse_amount``); None when blank. MobileInputError when it is not a whole number
    of dinars or is beyond any top-up."""
    try:
        amount = inputs.parse_optional_amount(raw, decimals=0)
    except ValidationError as exc:
        if exc.code == "too_large":
            raise MobileInputError(Note(TOO_LARGE_AMOUNT, max=inputs.amount_shown(inputs.MAX_AMOUNT))) from None
        raise MobileInputError(Note(WHOLE_AMOUNT)) from None
    if amount is not None and amount <= 0:
        raise MobileInputError(Note(WHOLE_AMOUNT))
    return None if amount is None else amount.quantize(CENT)


def _amount_for(plan: MobilePlan, raw) -> Decimal:
    if plan.is_menu:
        return Decimal("0.00")  # a menu request sends the number only
    amount = parse_whole_amount(raw)
    if plan.kind == PlanKind.FIXED:
        if amount is not None and plan.amount is not None and amount != plan.amount:
            raise MobileInputError(Note(gettext_noop("The plan %(plan)s is a fixed %(amount)s DA top-up."),
                                        plan=plan.name or plan.code, amount=f"{plan.amount:.0f}"))
        amount = plan.amount if plan.amount is not None else amount
    if amount is None:
        raise MobileInputError(Note(gettext_noop("Type the amount to send.")))
    if plan.kind == PlanKind.FIXED:
        return amount
    low, high = plan.min_amount, plan.max_amount
    if (low is not None and amount < low) or (high is not None and amount > high):
        raise MobileInputError(Note(gettext_noop("The amount must be between %(low)s and %(high)s DA for the plan "
                                                 "%(plan)s."), low=f"{low:.0f}" if low is not None else "1",
                                    high=f"{high:.0f}" if high is not None else "∞", plan=plan.name or plan.code))
    return amount
