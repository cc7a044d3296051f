"""The supervisors' admin: orders with their history, bulk send and refresh, the catalog."""

from __future__ import annotations

from collections import Counter

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from topups import (
    admin_readonly,  # registers django-q2's admin read-only; its mixin serves the books too
    selectors,
)
from topups.admin_readonly import NoEditMixin
from topups.models import (
    TRACKED_STATUSES,
    ApiAccount,
    AuditEvent,
    Batch,
    BatchStatus,
    CardInstructions,
    MobilePlan,
    Order,
    OrderEvent,
    OrderStatus,
    PriceRule,
    Product,
    Service,
    Till,
)
from topups.notes import actor_shown
from topups.numbers import TypedNumberField, normalise_number
from topups.oneclick import mask_code
from topups.order_export import export_orders
from topups.services import account, audit, catalog, mobile, order_edits, orders, pricing, sync, tills
from topups.services.actors import Actor

S = OrderStatus

admin.site.site_header = _("OneClickDZ top-ups")
admin.site.site_title = _("OneClickDZ top-ups")
admin.site.index_title = _("Supervision")
# Refreshing more than this many orders at once is handed to the sync instead of done inline.
INLINE_REFRESH_LIMIT = 20


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


@admin.action(description=_("Send selected orders"), permissions=["send"])
def send_selected(modeladmin, request, queryset: QuerySet[Order]) -> None:
    report = orders.request_send(queryset, actor=Actor.user(request.user))
    if report.queued:
        modeladmin.message_user(request, ngettext(
            "%(count)d order queued for sending.", "%(count)d orders queued for sending.", len(report.queued)
        ) % {"count": len(report.queued)}, messages.SUCCESS)
    _report_skipped(modeladmin, request, report.skipped, _("not waiting to be sent"))


@admin.action(description=_("Cancel selected unsent orders"), permissions=["send"])
def cancel_selected(modeladmin, request, queryset: QuerySet[Order]) -> None:
    cancelled, skipped = orders.cancel_orders(queryset, actor=Actor.user(request.user))
    if cancelled:
        modeladmin.message_user(request, ngettext(
            "%(count)d order cancelled.", "%(count)d orders cancelled.", len(cancelled)
        ) % {"count": len(cancelled)}, messages.SUCCESS)
    _report_skipped(modeladmin, request, skipped, _("already sent or final"))


@admin.action(description=_("Refresh status"), permissions=["refresh"])
def refresh_selected(modeladmin, request, queryset: QuerySet[Order]) -> None:
    selected = list(queryset)
    tracked = [o for o in selected if o.status in TRACKED_STATUSES]
    skipped = [(o.ref, o.status) for o in selected if o.status not in TRACKED_STATUSES]
    if len(tracked) > INLINE_REFRESH_LIMIT:
        count = sync.schedule_refresh([o.pk for o in tracked])
        modeladmin.message_user(request, _("%(count)d orders will be refreshed by the status sync within a minute.")
                                % {"count": count}, messages.SUCCESS)
    elif tracked:
        report = sync.refresh_orders(tracked, actor=Actor.user(request.user))
        now_status = selectors.status_counts([o.pk for o in tracked])
        summary = ", ".join(f"{S(status).label}: {count}" for status, count in sorted(now_status.items()))
        modeladmin.message_user(request, ngettext("Refreshed %(count)d order (%(summary)s).",
                                                  "Refreshed %(count)d orders (%(summary)s).", len(tracked))
                                % {"count": len(tracked), "summary": summary}, messages.SUCCESS)
        for error in report.errors:
            modeladmin.message_user(request, _("API problem: %(error)s") % {"error": error}, messages.WARNING)
    _report_skipped(modeladmin, request, skipped, _("not sent yet or already final"))


@admin.action(description=_("Close orders that never reached the API"), permissions=["refresh"])
def close_never_sent_selected(modeladmin, request, queryset: QuerySet[Order]) -> None:
    closed, refused = orders.close_never_sent(list(queryset), actor=Actor.user(request.user))
    if closed:
        modeladmin.message_user(request, ngettext(
            "%(count)d order closed: the API never had it.", "%(count)d orders closed: the API never had them.",
            len(closed)) % {"count": len(closed)}, messages.SUCCESS)
    for ref, proof in closed:
        modeladmin.message_user(request, _("%(ref)s closed. %(proof)s") % {"ref": ref, "proof": proof},
                                messages.INFO)
    for ref, reason in refused:
        modeladmin.message_user(request, _("%(ref)s not closed: %(reason)s.") % {"ref": ref, "reason": reason},
                                messages.WARNING)


class SettleForm(forms.Form):
    """How the provider's support settled an accepted order that needs attention."""

    outcome = forms.ChoiceField(label=_("Settled by the provider as"), widget=forms.RadioSelect, choices=[
        (orders.SETTLED_REFUNDED, _("Refunded by OneClickDZ support (the money is handed back)")),
        (orders.SETTLED_FULFILLED, _("Fulfilled (enter the card code support gave)")),
    ])
    card_code = forms.CharField(label=_("card code"), required=False, max_length=64)
    note = forms.CharField(label=_("note"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("What support said, their ticket number: kept in the order's history."))


def _report_skipped(modeladmin, request, skipped, reason) -> None:
    if not skipped:
        return
    by_status = Counter(status for _ref, status in skipped)
    detail = ", ".join(f"{S(status).label}: {count}" for status, count in sorted(by_status.items()))
    refs = ", ".join(ref for ref, _status in skipped[:10]) + ("…" if len(skipped) > 10 else "")
    modeladmin.message_user(
        request,
        ngettext("%(count)d order left unchanged, %(reason)s (%(detail)s): %(refs)s",
                 "%(count)d orders left unchanged, %(reason)s (%(detail)s): %(refs)s", len(skipped))
        % {"count": len(skipped), "reason": reason, "detail": detail, "refs": refs},
        messages.WARNING,
    )


# Fields whose values must not leak through a changelist filter (?card_code__startswith=1 recovers
# a masked code digit by digit): no lookup on them, on any model, through any relation.
SENSITIVE_LOOKUP_FIELDS = frozenset({"card_code", "card_code_digest"})


class SensitiveLookupsRefused:
    """ModelAdmin mixin: a URL lookup that touches a sensitive field is refused (400)."""

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        if SENSITIVE_LOOKUP_FIELDS & set(lookup.split("__")):
            return False
        return super().lookup_allowed(lookup, value, request)


class OrderAddForm(forms.ModelForm):
    """Adding an order in the admin: the checks of the dashboard's form (a valid number, a value
    the cached catalog sells; for a mobile top-up, a plan of the number's operator and an amount in
    its range), then the same creation service (OrderAdmin.save_model). The number is read as the
    counter reads it (``TypedNumberField``), so its typed length is not the column's."""

    number = TypedNumberField(label=_("line number"))

    class Meta:
        model = Order
        fields = ("service", "line_type", "plan_code", "number", "value", "note")
        help_texts = {"plan_code": _("Mobile top-ups only: a code of Mobile plans."),
                      "value": _("Internet: the card's value. Mobile: the amount (any, for a fixed plan).")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].required = False  # an internet card unless told otherwise

    def clean(self):
        data = super().clean()
        if data.get("service") == Service.MOBILE:
            return self._clean_mobile(data)
        data["service"] = self.instance.service = Service.INTERNET
        return self._clean_card(data)

    def _clean_mobile(self, data):
        try:
            checked = mobile.check_mobile(data.get("plan_code") or "", data.get("number") or "", data.get("value"))
        except ValidationError as exc:
            self.add_error("number", exc)
        except mobile.MobileInputError as exc:
            self.add_error(getattr(exc, "field", None), str(exc))
        else:
            data["number"], data["value"] = checked.number, checked.amount
            sale = pricing.PriceBook().quote_mobile(checked.plan.code, checked.amount, checked.cost)
            if refusal := sale.refusal(service=Service.MOBILE):
                self.add_error("value", refusal)
        self._check_till()
        return data

    def _clean_card(self, data):
        line_type, value = data.get("line_type"), data.get("value")
        if not line_type:
            self.add_error("line_type", _("Choose the line type of the card."))
        if line_type and data.get("number"):
            try:
                data["number"] = normalise_number(line_type, data["number"])
            except ValidationError as exc:
                self.add_error("number", exc)
        if line_type and value is not None:
            if value <= 0:
                self.add_error("value", _("The value must be positive."))
            elif not selectors.is_on_sale(line_type, value):
                self.add_error("value", _("No card of this value for this type in the catalog (or out of stock): "
                                          "choose a value from Products."))
        # The books' rules, as at the counter: a cash session to sell, no price below cost.
        product = (Product.objects.filter(line_type=line_type, value=value).first()
                   if line_type and value is not None and not self.errors.get("value") else None)
        if product is not None and (refusal := pricing.price_for(product).refusal(service=Service.INTERNET)):
            self.add_error("value", refusal)
        self._check_till()
        return data

    def _check_till(self) -> None:
        user = getattr(self, "user", None)
        if user is not None and tills.session_missing(user.pk):
            self.add_error(None, str(tills.NO_SESSION))


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


class RefreshButton:
    """A *Refresh now* button on the list of what comes from the API (the catalog, the mobile
    plans), with the time of the last refresh: POST only, for holders of ``topups.sync_catalog``.
    A button rather than an action: the refresh works on the whole list, even an empty one."""

    change_list_template = "admin/topups/refresh_change_list.html"
    synced_field = ""  # the ApiAccount field holding the last refresh
    refresh_label = ""
    refresh_button_id = ""

    def refresh(self, request) -> None:
        raise NotImplementedError

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_refresh"
        return [path("refresh/", self.admin_site.admin_view(self.refresh_view), name=name), *super().get_urls()]

    def refresh_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("topups.sync_catalog"):
            raise PermissionDenied
        self.refresh(request)  # an API problem is reported in a message, not raised
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")

    def changelist_view(self, request, extra_context=None):
        row = account.current_account()
        extra_context = {
            **(extra_context or {}),
            "synced_at": getattr(row, self.synced_field) if row else None,
            "can_sync_catalog": request.user.has_perm("topups.sync_catalog"),
            "refresh_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_refresh"),
            "refresh_label": self.refresh_label,
            "refresh_button_id": self.refresh_button_id,
        }
        return super().changelist_view(request, extra_context)


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


@admin.register(ApiAccount)
class ApiAccountAdmin(admin.ModelAdmin):
    list_display = ("__str__", "key_type", "balance", "balance_fetched_at", "catalog_synced_at", "refused_reason")
    readonly_fields = [f.name for f in ApiAccount._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


# Bulk files ---------------------------------------------------------------------------------------


def export_orders_csv(request, queryset: QuerySet[Order], file_format: str = "csv"):
    """The selected orders as CSV (or XLSX), oldest first (formula-like cells neutralised, codes
    masked unless allowed, audited)."""
    return export_orders(request, queryset.order_by("created_at", "id"), via="admin export",
                         target="admin: selected orders", file_format=file_format)


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

from topups import admin_ledger  # noqa: E402, F401 (registers the ledger's pages)

# The books ----------------------------------------------------------------------------------------
# Prices are set and sessions closed on the dashboard (audited services); the admin shows them.


class ReadOnlyAdmin(admin_readonly.ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


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
