"""The gift-card catalogue, cached: categories and products from /gift-cards/catalog (daily, on
first use, or by the refresh button), a product's types with price and stock from checkProduct
(when the counter shows them, and again just before an order is sent)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from topups.models import GiftProduct, GiftType
from topups.oneclick import errors as api_errors
from topups.services.account import get_client

log = logging.getLogger("topups.catalog")
FIRST_USE_LOCK = "topups:gift-catalog-first-use"


@dataclass
class GiftSyncReport:
    created: int = 0
    updated: int = 0
    disappeared: int = 0
    failed: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed


def sync_catalog(client=None) -> GiftSyncReport:
    """Update GiftProduct rows from /gift-cards/catalog. A product the catalogue no longer lists is
    kept (orders name it) and no longer enabled. A failed fetch leaves the cache as it was."""
    report = GiftSyncReport()
    try:
        catalog = (client or get_client()).gift_catalog()
    except api_errors.OneClickError as exc:
        report.failed = str(exc)
        log.warning("gift catalogue sync failed: %s", exc)
        return report
    now = timezone.now()
    with transaction.atomic():
        existing = {p.product_id: p for p in GiftProduct.objects.select_for_update()}
        seen = set()
        for category in catalog.categories:
            for item in category.products:
                seen.add(item.id)
                row = existing.get(item.id)
                fields = {"title": item.title[:200], "category": category.name[:120], "region": item.region[:16],
                          "enabled": item.enabled, "last_seen_at": now}
                if row is None:
                    existing[item.id] = GiftProduct.objects.create(product_id=item.id, **fields)
                    report.created += 1
                else:
                    GiftProduct.objects.filter(pk=row.pk).update(**fields)
                    report.updated += 1
        gone = [p.pk for pid, p in existing.items() if pid not in seen and p.enabled]
        report.disappeared = GiftProduct.objects.filter(pk__in=gone).update(enabled=False)
    return report


def scheduled_refresh() -> dict:
    """The daily schedule's task (``GiftCardLine.schedules``): the catalogue fetched again."""
    report = sync_catalog()
    return {"created": report.created, "updated": report.updated, "disappeared": report.disappeared,
            "failed": report.failed}


def synced_at():
    return GiftProduct.objects.aggregate(at=Max("last_seen_at"))["at"]


def ensure_fresh() -> None:
    """Fetch the catalogue when it was never fetched or is older than GIFT_CATALOG_REFRESH_HOURS, one
    caller at a time (a cache lock kept for 30 s after a failure, so pages do not each wait)."""
    if not settings.ONECLICKDZ_API_KEY:
        return
    at = synced_at()
    if at is not None and timezone.now() - at < timedelta(hours=settings.GIFT_CATALOG_REFRESH_HOURS):
        return
    if not cache.add(FIRST_USE_LOCK, True, timeout=30):
        return
    if sync_catalog().ok:
        cache.delete(FIRST_USE_LOCK)


def check_types(product_id: str, client=None) -> list[GiftType]:
    """Ask checkProduct for a product's types (price, stock) and store them; returns its types as
    stored now. Raises the client's errors (NotFound: the product is gone)."""
    details = (client or get_client()).gift_check_product(product_id)
    now = timezone.now()
    with transaction.atomic():
        product, _created = GiftProduct.objects.get_or_create(
            product_id=product_id, defaults={"title": details.title[:200] or product_id})
        existing = {t.type_id: t for t in GiftType.objects.select_for_update().filter(product=product)}
        listed = set()
        for item in details.types:
            listed.add(item.id)
            row = existing.get(item.id)
            if row is None:
                GiftType.objects.create(product=product, type_id=item.id, name=item.name[:200], price=item.price,
                                        stock=item.stock, listed=True, checked_at=now)
            else:
                GiftType.objects.filter(pk=row.pk).update(name=item.name[:200], price=item.price, stock=item.stock,
                                                          listed=True, checked_at=now)
        GiftType.objects.filter(product=product).exclude(type_id__in=listed).update(listed=False, checked_at=now)
        GiftProduct.objects.filter(pk=product.pk).update(types_checked_at=now)
    return list(GiftType.objects.filter(product=product).select_related("product").order_by("price"))


def enabled_products() -> list[GiftProduct]:
    return list(GiftProduct.objects.filter(enabled=True).order_by("category", "title"))


def split_plan(plan_code: str) -> tuple[str, str]:
    """``<productId>:<typeId>`` → (product id, type id); ("", "") for anything else."""
    product_id, sep, type_id = (plan_code or "").partition(":")
    return (product_id, type_id) if sep and product_id and type_id else ("", "")


def cached_type(plan_code: str) -> GiftType | None:
    product_id, type_id = split_plan(plan_code)
    if not product_id:
        return None
    return GiftType.objects.select_related("product").filter(product__product_id=product_id,
                                                             type_id=type_id).first()
