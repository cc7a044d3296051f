"""The books in the admin, read only: prices are set and sessions closed on the dashboard (audited
services); the admin shows them."""

from __future__ import annotations

from django.contrib import admin

from topups.admin.mixins import ReadOnlyAdmin
from topups.models import CardInstructions, PriceRule, Till


@admin.register(PriceRule)
class PriceRuleAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "mode", "amount", "rounding", "allow_below_cost", "updated_by", "updated_at")


@admin.register(Till)
class TillAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "cashier", "status", "opening_cash", "expected_cash", "counted_cash", "closed_at",
                    "approved_by")
    list_filter = ("status", "cashier")
    list_select_related = ("cashier", "approved_by")


@admin.register(CardInstructions)
class CardInstructionsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "text")
