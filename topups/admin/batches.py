"""The bulk files in the admin, read only: adding one goes through the dashboard's upload and preview."""

from __future__ import annotations

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from topups.admin.mixins import NoEditMixin, SensitiveLookupsRefused
from topups.models import Batch, BatchStatus


@admin.register(Batch)
class BatchAdmin(NoEditMixin, SensitiveLookupsRefused, admin.ModelAdmin):
    """Uploaded files, read only. Adding one goes through the dashboard's upload and preview."""

    list_display = ("file_name", "created_by", "created_at", "status", "row_count", "valid_count", "total_cost",
                    "orders_link")
    list_filter = ("status", "created_at", "created_by")
    list_select_related = ("created_by",)
    search_fields = ("file_name",)
    exclude = ("rows", "warnings")
    readonly_fields = ("file_name", "status", "encoding", "row_count", "valid_count", "total_cost", "balance",
                       "created_by", "created_at", "confirmed_by", "confirmed_at", "orders_link")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("rows", "warnings")

    @admin.display(description=_("orders"))
    def orders_link(self, obj: Batch) -> str:
        if obj.status != BatchStatus.CONFIRMED:
            return "—"
        url = reverse("admin:topups_order_changelist") + f"?batch__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("See the orders"))

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm("topups.bulk_order")

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("topups:batch_new")
