"""The audit trail in the admin, read only."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from topups.admin.mixins import NoEditMixin, SensitiveLookupsRefused
from topups.models import AuditEvent
from topups.notes import actor_shown


@admin.register(AuditEvent)
class AuditEventAdmin(NoEditMixin, SensitiveLookupsRefused, admin.ModelAdmin):
    """The audit trail, read-only: rows are written by the code that does the action, never by hand."""

    list_display = ("created_at", "by", "action", "target", "ip_address")
    list_filter = ("action", ("actor", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("=target", "actor_label")
    date_hierarchy = "created_at"
    list_per_page = 100
    show_full_result_count = False
    readonly_fields = ("created_at", "action", "actor", "by", "target", "detail", "ip_address")
    fields = readonly_fields

    @admin.display(description=_("by"), ordering="actor_label")
    def by(self, obj: AuditEvent) -> str:
        return actor_shown(obj.actor_label)
