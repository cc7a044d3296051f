"""The API account in the admin: its cached row, read-only."""

from __future__ import annotations

from django.contrib import admin

from topups.models import ApiAccount


@admin.register(ApiAccount)
class ApiAccountAdmin(admin.ModelAdmin):
    list_display = ("__str__", "key_type", "balance", "balance_fetched_at", "catalog_synced_at", "refused_reason")
    readonly_fields = [f.name for f in ApiAccount._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
