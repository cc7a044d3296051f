"""What several model admins share: view-only pages, a refusal of filters on sensitive fields, and the
Refresh now button of what comes from the API."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse

from topups.services import account


class NoEditMixin:
    """View only: no add, change or delete. For a model admin or an inline; actions and buttons that
    call a service (a refresh) stay. Override one ``has_*`` after it to allow that one."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdminMixin(NoEditMixin):
    """View only, and no actions either (django-q2's resubmit_task re-runs a task)."""

    actions = None


# Fields whose values must not leak through a changelist filter (?card_code__startswith=1 recovers
# a masked code digit by digit): no lookup on them, on any model, through any relation.
SENSITIVE_LOOKUP_FIELDS = frozenset({"card_code", "card_code_digest"})


class SensitiveLookupsRefused:
    """ModelAdmin mixin: a URL lookup that touches a sensitive field is refused (400)."""

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        if SENSITIVE_LOOKUP_FIELDS & set(lookup.split("__")):
            return False
        return super().lookup_allowed(lookup, value, request)


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

    def last_refresh(self):
        """When the list was last refreshed: the ApiAccount's ``synced_field`` (a list kept elsewhere
        says so by overriding this)."""
        row = account.current_account()
        return getattr(row, self.synced_field) if row else None

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "synced_at": self.last_refresh(),
            "can_sync_catalog": request.user.has_perm("topups.sync_catalog"),
            "refresh_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_refresh"),
            "refresh_label": self.refresh_label,
            "refresh_button_id": self.refresh_button_id,
        }
        return super().changelist_view(request, extra_context)


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass
