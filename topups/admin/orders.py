"""The orders in the admin: their list with its status badge, the history inline, the add form with the
dashboard's checks, and the settle page for an order support has settled."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from topups import lines, selectors
from topups.admin.actions import (
    cancel_selected,
    close_never_sent_selected,
    export_orders_csv,
    refresh_selected,
    send_selected,
)
from topups.admin.mixins import NoEditMixin, SensitiveLookupsRefused
from topups.models import Order, OrderEvent, OrderStatus
from topups.notes import actor_shown
from topups.numbers import TypedNumberField
from topups.oneclick import mask_code
from topups.services import audit, order_edits, orders, sales
from topups.services.actors import Actor

S = OrderStatus


def status_badge(order: Order) -> str:
    # A class, not a style attribute: the CSP allows no inline style. Colours in static/topups/admin.css.
    return format_html('<span class="status-badge {}">{}</span>', order.status, order.get_status_display())


class OrderEventInline(NoEditMixin, admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = ("created_at", "from_status", "to_status", "by", "note_shown")
    readonly_fields = fields
    ordering = ("created_at", "id")

    @admin.display(description=_("by"))
    def by(self, obj: OrderEvent) -> str:
        return actor_shown(obj.actor_label)

    @admin.display(description=_("note"))
    def note_shown(self, obj: OrderEvent) -> str:
        return obj.note_shown


class SettleForm(forms.Form):
    """How the provider's support settled an accepted order that needs attention."""

    outcome = forms.ChoiceField(label=_("Settled by the provider as"), widget=forms.RadioSelect, choices=[
        (orders.SETTLED_REFUNDED, _("Refunded by OneClickDZ support (the money is handed back)")),
        (orders.SETTLED_FULFILLED, _("Fulfilled (enter the card code support gave)")),
    ])
    card_code = forms.CharField(label=_("card code"), required=False, max_length=64)
    note = forms.CharField(label=_("note"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("What support said, their ticket number: kept in the order's history."))


class OrderAddForm(forms.ModelForm):
    """Adding an order in the admin: the checks of the dashboard's form (the product line's: a valid
    number, a value the cached catalog sells; for a mobile top-up, a plan of the number's operator
    and an amount in its range), then the same creation service (OrderAdmin.save_model). The number is read as the
    counter reads it (``TypedNumberField``), so its typed length is not the column's."""

    number = TypedNumberField(label=_("line number"))

    class Meta:
        model = Order
        fields = ("service", "line_type", "plan_code", "number", "value", "note")
        help_texts = {"plan_code": _("Mobile top-ups only: a code of Mobile plans."),
                      "value": _("Internet: the card's value. Mobile: the amount (any, for a fixed plan).")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].required = False  # the first line (internet cards) unless told otherwise

    def clean(self):
        """The one door (``sales.check_sale``): the line's checks, the price rule, an open session."""
        data = super().clean()
        data["service"] = self.instance.service = data.get("service") or lines.default_code()
        if self.errors:
            return data
        user = getattr(self, "user", None)
        try:
            sale = sales.check_sale(data["service"], data, user_id=user.pk if user is not None else None)
        except ValidationError as exc:
            self.add_error("number", exc)
        except sales.SaleRefused as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc))
        else:
            data.update(sale.item.order_fields())
        return data


@admin.register(Order)
class OrderAdmin(SensitiveLookupsRefused, admin.ModelAdmin):
    list_display = ("ref", "badge", "service", "line_type", "plan_code", "number", "value", "cost", "created_by",
                    "created_at", "num_trans")
    list_filter = ("status", "service", "line_type", "created_at", "created_by")
    # The dashboard's search (selectors.search_q): get_search_results. The admin searches by GET, so
    # never by card code (a code in a URL lands in access logs and history): the dashboard's Orders
    # search is a POST and finds codes.
    search_fields = ("ref",)
    search_help_text = _("Number in any form, ref or part of it, transaction number or top-up id. A card code "
                         "is searched on the dashboard's Orders page, never here.")
    list_select_related = ("created_by",)
    list_per_page = 50
    show_full_result_count = False
    actions = [send_selected, refresh_selected, cancel_selected, close_never_sent_selected, "export_selected_csv",
               "export_selected_xlsx"]
    inlines = [OrderEventInline]
    readonly_fields = ("ref", "status", "api_status", "topup_id", "cost", "ncli", "offre", "shown_card_code",
                       "num_trans", "processed_at", "refusal_code", "refusal_message", "created_by", "created_at",
                       "updated_at", "send_requested_at", "sent_at", "send_attempts", "checks", "last_checked_at",
                       "next_check_at", "price", "till", "receipt_prints", "refund_message", "suggested_offers",
                       "settle_link")
    fieldsets = (
        (None, {"fields": ("ref", "service", "line_type", "plan_code", "number", "value", "note")}),
        (_("Result"), {"fields": ("status", "settle_link", "api_status", "shown_card_code", "num_trans", "processed_at",
                                  "refusal_code", "refusal_message", "refund_message", "suggested_offers")}),
        (_("API"), {"fields": ("topup_id", "cost", "ncli", "offre")}),
        (_("Books"), {"fields": ("price", "till", "receipt_prints")}),
        (_("Tracking"), {"classes": ("collapse",), "fields": (
            "created_by", "created_at", "updated_at", "send_requested_at", "sent_at", "send_attempts", "checks",
            "last_checked_at", "next_check_at")}),
    )

    @admin.display(description=_("status"), ordering="status")
    def badge(self, obj: Order) -> str:
        return status_badge(obj)

    @admin.display(description=_("card code"))
    def shown_card_code(self, obj: Order) -> str:
        # Set by render_change_form through the one audited door; masked anywhere else.
        return getattr(obj, "shown_code", None) or mask_code(obj.card_code) or "—"

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(selectors.search_q(search_term)), False

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": OrderAddForm.Meta.fields})]
        return self.fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = type("OrderAddForm", (OrderAddForm,), {"user": request.user})
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            # What was ordered never changes after creation: the order sent is the order created.
            return ("service", "line_type", "plan_code", "number", "value", *self.readonly_fields)
        return self.readonly_fields

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            audit.show_order_codes(request, [obj], via="admin")
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def save_model(self, request, obj: Order, form, change: bool) -> None:
        if change:
            # Only the edited fields, under a row lock, with an order event and an audit row: a full
            # save() would write back the status and code this page loaded over a concurrent sync.
            changes = {name: form.cleaned_data[name] for name in form.changed_data
                       if name in order_edits.EDITABLE_FIELDS}
            order_edits.edit_order(order_id=obj.pk, changes=changes, actor=Actor.user(request.user),
                                   request=request)
            return
        order, _created = orders.create_order(
            service=obj.service, line_type=obj.line_type, plan_code=obj.plan_code, number=obj.number, value=obj.value,
            note=obj.note, actor=Actor.user(request.user),
        )
        obj.pk, obj.ref = order.pk, order.ref

    def get_urls(self):
        return [path("<int:pk>/settle/", self.admin_site.admin_view(self.settle_view), name="topups_order_settle"),
                *super().get_urls()]

    def settle_view(self, request, pk: int):
        """Settle an accepted order that needs attention (``orders.settle_accepted``): a form, then
        back to the order with what happened."""
        if not self.has_refresh_permission(request):
            raise PermissionDenied
        order = Order.objects.filter(pk=pk).first()
        if order is None:
            return redirect("admin:topups_order_changelist")
        form = SettleForm(request.POST or None)
        error = ""
        if request.method == "POST" and form.is_valid():
            try:
                orders.settle_accepted(order_id=order.pk, actor=Actor.user(request.user), **form.cleaned_data)
            except orders.SettleError as exc:
                error = str(exc)
            else:
                self.message_user(request, _("%(ref)s settled.") % {"ref": order.ref}, messages.SUCCESS)
                return redirect("admin:topups_order_change", order.pk)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "order": order, "form": form,
                   "error": error, "title": _("Settle %(ref)s") % {"ref": order.ref},
                   "can_settle": order.status == S.ATTENTION}
        return TemplateResponse(request, "admin/topups/order/settle.html", context)

    @admin.display(description=_("settle"))
    def settle_link(self, obj: Order) -> str:
        if obj.status != S.ATTENTION:
            return "—"
        return format_html('<a class="button" href="{}">{}</a>', reverse("admin:topups_order_settle", args=[obj.pk]),
                           _("Settle with what OneClickDZ support said"))

    def has_send_permission(self, request) -> bool:
        return request.user.has_perm("topups.send_order")

    def has_refresh_permission(self, request) -> bool:
        return request.user.has_perm("topups.refresh_order")

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("topups.export_order")

    @admin.action(description=_("Export selected orders as CSV"), permissions=["export"])
    def export_selected_csv(self, request, queryset: QuerySet[Order]):
        return export_orders_csv(request, queryset)

    @admin.action(description=_("Export selected orders for Excel (XLSX)"), permissions=["export"])
    def export_selected_xlsx(self, request, queryset: QuerySet[Order]):
        return export_orders_csv(request, queryset, file_format="xlsx")

    def has_delete_permission(self, request, obj=None) -> bool:
        # Orders are the shop's money trail: never deleted, at most cancelled before sending.
        return False
