"""The cached product catalog: one row per (line type, value), refreshed from the API."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from topups.models import ApiAccount, LineType, Product
from topups.oneclick import errors as api_errors
from topups.services.account import current_fingerprint, get_client

log = logging.getLogger("topups.catalog")
FIRST_USE_LOCK = "topups:catalog-first-use"


@dataclass
class CatalogSyncReport:
    created: int = 0
    updated: int = 0
    disappeared: int = 0
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def sync_catalog() -> CatalogSyncReport:
    """Update Product rows from /internet/products for both line types.

    Values the API no longer lists become unavailable (orders keep pointing at them). A type
    whose fetch fails is left as it was and reported; the other type is still synced.
    """
    report = CatalogSyncReport()
    client = get_client()
    for line_type in LineType:
        try:
            listing = client.internet_products(line_type.value)
        except api_errors.OneClickError as exc:
            report.failed[line_type.value] = str(exc)
            log.warning("catalog sync for %s failed: %s", line_type.value, exc)
            continue
        _store_products(line_type, listing.products, report)
    if report.ok:
        ApiAccount.objects.update_or_create(
            key_fingerprint=current_fingerprint(), defaults={"catalog_synced_at": timezone.now()}
        )
    return report


def _store_products(line_type: LineType, products, report: CatalogSyncReport) -> None:
    now = timezone.now()
    with transaction.atomic():
        existing = {p.value: p for p in Product.objects.select_for_update().filter(line_type=line_type)}
        seen = _dedupe(products)
        to_create, to_update = [], []
        for item in seen.values():
            row = existing.get(item.value)
            if row is None:
                to_create.append(
                    Product(line_type=line_type, value=item.value, cost=item.cost, available=item.available,
                            last_seen_at=now)
                )
            else:
                row.cost, row.available, row.last_seen_at = item.cost, item.available, now
                to_update.append(row)
        gone = [row for value, row in existing.items() if value not in seen and row.available]
        for row in gone:
            row.available = False
        Product.objects.bulk_create(to_create)
        Product.objects.bulk_update(to_update + gone, ["cost", "available", "last_seen_at"])
    report.created += len(to_create)
    report.updated += len(to_update)
    report.disappeared += len(gone)


def _dedupe(products) -> dict:
    """The docs show one value listed twice with different cost and stock: keep the one on sale."""
    by_value = {}
    for item in products:
        kept = by_value.get(item.value)
        if kept is None or (item.available and not kept.available):
            by_value[item.value] = item
    return by_value


def ensure_fresh() -> None:
    """Fetch the catalog and the balance now when they are missing or stale (older than two
    refresh periods), so the new-order form and the dashboard work the moment the app is up,
    before the schedules' first run. One caller at a time fetches (a cache lock); the others go
    on with what is cached. A failed fetch is logged and leaves the cache as it was; the lock is
    then kept for its 30 s, so that pages do not each wait on an API that does not answer."""
    from django.conf import settings
    from django.core.cache import cache

    from topups.services import account

    if not settings.ONECLICKDZ_API_KEY:
        return
    now = timezone.now()
    row = account.current_account()
    if row is not None and row.refused_reason:
        return
    catalog_at = row.catalog_synced_at if row else None
    balance_at = row.balance_fetched_at if row else None
    catalog_due = catalog_at is None or now - catalog_at > timedelta(minutes=2 * settings.CATALOG_REFRESH_MINUTES)
    balance_due = balance_at is None or now - balance_at > timedelta(minutes=2 * settings.BALANCE_REFRESH_MINUTES)
    if not (catalog_due or balance_due) or not cache.add(FIRST_USE_LOCK, True, timeout=30):
        return
    try:
        failed = bool(sync_catalog().failed) if catalog_due else False
        if balance_due:
            account.refresh_account()
    except api_errors.OneClickError as exc:
        log.warning("fetch on first use failed: %s", exc)
        return
    if not failed:
        cache.delete(FIRST_USE_LOCK)
