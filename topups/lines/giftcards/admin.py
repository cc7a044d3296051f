"""The gift-card catalogue in the admin: products by category as the API last listed them (a
*Refresh gift card catalogue now* button), each product's card types with price and stock (read-only)
and its redemption instructions per language (edited by supervisors, printed on receipts)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from topups.admin.mixins import RefreshButton, SensitiveLookupsRefused
from topups.lines.giftcards import catalog
from topups.models import GiftInstructions, GiftProduct, GiftType


class GiftTypeInline(admin.TabularInline):
    model = GiftType
    fields = ("type_id", "name", "price", "stock", "listed", "checked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # the types come from the API (checkProduct)


class GiftInstructionsInline(admin.StackedInline):
    model = GiftInstructions
    extra = 0


@admin.register(GiftProduct)
class GiftProductAdmin(RefreshButton, SensitiveLookupsRefused, admin.ModelAdmin):
    list_display = ("title", "category", "region", "enabled", "last_seen_at", "types_checked_at")
    list_filter = ("category", "enabled")
    search_fields = ("title", "product_id")
    readonly_fields = ("product_id", "title", "category", "region", "enabled", "last_seen_at", "types_checked_at")
    inlines = [GiftTypeInline, GiftInstructionsInline]
    refresh_label = _("Refresh gift card catalogue now")
    refresh_button_id = "refresh-gift-catalog"

    def has_add_permission(self, request) -> bool:
        return False  # the catalogue comes from the API

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # orders name the product

    def last_refresh(self):
        return catalog.synced_at()

    def refresh(self, request) -> None:
        report = catalog.sync_catalog()
        if report.ok:
            self.message_user(request, _("Gift card catalogue refreshed: %(created)d new, %(updated)d updated, "
                                         "%(gone)d no longer listed.") % {
                "created": report.created, "updated": report.updated, "gone": report.disappeared}, messages.SUCCESS)
        else:
            self.message_user(request, _("Gift card catalogue not refreshed: %(error)s") % {"error": report.failed},
                              messages.ERROR)
