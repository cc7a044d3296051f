"""The catalog in the admin: internet products and mobile plans, as the API last listed them, with a
Refresh now button."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from topups.admin.mixins import NoEditMixin, RefreshButton, SensitiveLookupsRefused
from topups.lines.internet import catalog
from topups.lines.mobile import plans as mobile
from topups.models import MobilePlan, Product


@admin.register(Product)
class ProductAdmin(RefreshButton, SensitiveLookupsRefused, admin.ModelAdmin):
    list_display = ("__str__", "line_type", "value", "cost", "available", "last_seen_at")
    list_filter = ("line_type", "available")
    readonly_fields = ("line_type", "value", "cost", "available", "last_seen_at")
    synced_field = "catalog_synced_at"
    refresh_label = _("Refresh catalog now")
    refresh_button_id = "refresh-catalog"

    def has_add_permission(self, request) -> bool:
        return False  # the catalog comes from the API

    def refresh(self, request) -> None:
        report = catalog.sync_catalog()  # an API problem is reported per line type, not raised
        self.message_user(
            request,
            _("Catalog refreshed: %(created)d new, %(updated)d updated, %(gone)d no longer listed.")
            % {"created": report.created, "updated": report.updated, "gone": report.disappeared},
            messages.SUCCESS if report.ok else messages.WARNING,
        )
        for line_type, error in report.failed.items():
            self.message_user(request, _("%(type)s: %(error)s") % {"type": line_type, "error": error}, messages.ERROR)


@admin.register(MobilePlan)
class MobilePlanAdmin(NoEditMixin, RefreshButton, admin.ModelAdmin):
    """The cached mobile plans, read-only (they come from the API, daily and on first use)."""

    list_display = ("code", "name", "operator", "kind", "amount", "min_amount", "max_amount", "multiplier",
                    "is_enabled", "fetched_at")
    list_filter = ("operator", "kind", "is_enabled")
    search_fields = ("code", "name")
    readonly_fields = ("code", "name", "operator", "kind", "amount", "min_amount", "max_amount", "multiplier",
                       "is_enabled", "fetched_at")
    synced_field = "plans_synced_at"
    refresh_label = _("Refresh mobile plans now")
    refresh_button_id = "refresh-plans"

    def refresh(self, request) -> None:
        report = mobile.sync_plans()
        if report.ok:
            self.message_user(request, _("Mobile plans refreshed: %(created)d new, %(updated)d updated, %(gone)d no "
                                         "longer listed.") % {"created": report.created, "updated": report.updated,
                                                              "gone": report.removed}, messages.SUCCESS)
        else:
            self.message_user(request, _("Mobile plans not refreshed: %(error)s") % {"error": report.failed},
                              messages.ERROR)
