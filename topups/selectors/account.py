"""Reads of the API account: the configured key's row, the API's reachability, the cached catalog's stock
and the balance left to spend. Pages show these cached rows, which the background schedules keep fresh,
so a slow or refusing API never slows a page down."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import DecimalField, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from topups.models import ApiAccount, Order, OrderStatus, Product
from topups.oneclick import key_fingerprint

S = OrderStatus


# The API account ---------------------------------------------------------------------------------
# Reads of the configured key's row and of the API's reachability; services.account writes them.
UNREACHABLE = "topups.api-unreachable"


def current_fingerprint() -> str:
    return key_fingerprint(settings.ONECLICKDZ_API_KEY) if settings.ONECLICKDZ_API_KEY else ""


def current_account() -> ApiAccount | None:
    """The row for the configured key, if any call has been made with it."""
    fingerprint = current_fingerprint()
    if not fingerprint:
        return None
    return ApiAccount.objects.filter(key_fingerprint=fingerprint).first()


def unreachable_since() -> dict | None:
    """The record of the configured API not answering (url, since, last, cause), or None."""
    record = cache.get(UNREACHABLE)
    if record and record.get("url") == (settings.ONECLICKDZ_API_URL or "").strip().rstrip("/"):
        return record
    return None


# Catalog ----------------------------------------------------------------------------------------


def out_of_stock_products() -> list[Product]:
    """The cached catalog's values that are out of stock now: shown, labelled, never selectable."""
    return list(Product.objects.filter(available=False).order_by("line_type", "value"))


def available_products() -> list[Product]:
    """The cached catalog's available values, both types, cheapest first (one query)."""
    return list(Product.objects.filter(available=True).order_by("line_type", "value"))


# The account as the home page shows it ---------------------------------------------------------


@dataclass(frozen=True)
class AccountState:
    """The API account as the home page shows it: never fetched while rendering."""

    key_missing: bool
    account: ApiAccount | None
    low_balance: bool
    threshold: Decimal
    unreachable: dict | None = None  # see account.CacheReachability

    @property
    def unreachable_cause(self) -> str:
        """What failed, in the reader's language (the client records its own words)."""
        cause = (self.unreachable or {}).get("cause", "")
        return {
            "could not connect": _("connection refused or host not found"),
            "connect timeout": _("no answer to the connection (timeout)"),
            "read timeout": _("connected, but no answer came in time"),
            "TLS error": _("secure connection failed (TLS)"),
            "connection dropped": _("connection dropped"),
            "response cut short": _("answer cut short"),
        }.get(cause, cause)

    @property
    def refused_reason(self) -> str:
        return self.account.refused_reason if self.account else ""

    @property
    def sandbox(self) -> bool:
        return bool(self.account and self.account.key_type == "SANDBOX")


def account_state() -> AccountState:
    key_missing = not settings.ONECLICKDZ_API_KEY
    account = None if key_missing else current_account()
    threshold = settings.LOW_BALANCE_THRESHOLD
    low = bool(account and account.balance is not None and account.balance < threshold)
    return AccountState(key_missing=key_missing, account=account, low_balance=low, threshold=threshold,
                        unreachable=None if key_missing else unreachable_since())


# Balance ----------------------------------------------------------------------------------------

# Orders the API may still debit that the fetched balance may not show yet: asked to be sent,
# being sent, or sent with no answer yet.
IN_FLIGHT = Q(status=S.NEW, send_requested_at__isnull=False) | Q(status__in=(S.SENDING, S.UNKNOWN))


def _in_flight_total() -> Subquery:
    """The money committed to orders in flight: their cost, or their value while it is unknown."""
    committed = (Order.objects.filter(IN_FLIGHT).order_by().annotate(one=Value(1)).values("one")
                 .annotate(total=Sum(Coalesce("cost", "value"))).values("total"))
    return Subquery(committed, output_field=DecimalField(max_digits=14, decimal_places=2))


def spendable_balance() -> Decimal | None:
    """What every balance pre-check compares with: the fetched balance minus the money committed
    to orders in flight (None while no balance was fetched). One query."""
    fingerprint = current_fingerprint()
    if not fingerprint:
        return None
    row = (ApiAccount.objects.filter(key_fingerprint=fingerprint).annotate(committed=_in_flight_total())
           .values("balance", "committed").first())
    if row is None or row["balance"] is None:
        return None
    return row["balance"] - (row["committed"] or Decimal(0))
