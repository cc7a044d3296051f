"""The provider's ledger in the admin: its rows and the reconciliation flags, read-only, with
filters. Flags are resolved on the reconciliation page (with a note, audited), never edited here."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from topups.admin.mixins import ReadOnlyAdminMixin
from topups.models import LedgerFlag, LedgerRow
from topups.notes import ledger_operation_shown, ledger_type_shown


class OpenFilter(admin.SimpleListFilter):
    title = _("open")
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return (("yes", pgettext_lazy("ledger flag", "Open")), ("no", _("Resolved")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(LedgerRow)
class LedgerRowAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("time", "type_shown", "operation_shown", "amount", "old_balance", "new_balance", "objid", "order",
                    "state")
    list_filter = ("state", "type", "time")
    search_fields = ("=api_id", "=objid", "=order__ref")
    date_hierarchy = "time"
    list_select_related = ("order",)
    list_per_page = 100
    show_full_result_count = False
    fields = ("api_id", "time", "type_shown", "operation_shown", "amount", "old_balance", "new_balance", "objid", "note",
              "order", "state", "raw", "fetched_at")
    readonly_fields = fields

    @admin.display(description=_("type"), ordering="type")
    def type_shown(self, obj: LedgerRow) -> str:
        return ledger_type_shown(obj.type)

    @admin.display(description=_("operation"), ordering="operation")
    def operation_shown(self, obj: LedgerRow) -> str:
        return ledger_operation_shown(obj.operation)


@admin.register(LedgerFlag)
class LedgerFlagAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("day", "kind", "row", "order", "expected", "found", "detail", "resolved_at", "resolved_by",
                    "page_link")
    list_filter = (OpenFilter, "kind", "day")
    search_fields = ("=order__ref", "=row__api_id", "=row__objid")
    date_hierarchy = "day"
    list_select_related = ("row", "order", "resolved_by")
    list_per_page = 100
    fields = ("day", "kind", "row", "order", "expected", "found", "detail", "created_at", "resolved_at",
              "resolved_by", "resolution")
    readonly_fields = fields

    @admin.display(description=_("reconciliation"))
    def page_link(self, flag: LedgerFlag):
        url = reverse("topups:ledger") + f"?date={flag.day.isoformat()}"
        return format_html('<a href="{}">{}</a>', url, _("resolve") if flag.is_open else _("see"))
