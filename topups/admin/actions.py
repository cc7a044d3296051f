"""The admin's actions on orders: send, cancel, refresh, close the never sent, export. Each is a function
of (modeladmin, request, queryset) that delegates to a service and reports with messages."""

from __future__ import annotations

from collections import Counter

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from topups import selectors
from topups.models import TRACKED_STATUSES, Order, OrderStatus
from topups.order_export import export_orders
from topups.services import orders, sync
from topups.services.actors import Actor

S = OrderStatus


# Refreshing more than this many orders at once is handed to the sync instead of done inline.
INLINE_REFRESH_LIMIT = 20


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


def export_orders_csv(request, queryset: QuerySet[Order], file_format: str = "csv"):
    """The selected orders as CSV (or XLSX), oldest first (formula-like cells neutralised, codes
    masked unless allowed, audited)."""
    return export_orders(request, queryset.order_by("created_at", "id"), via="admin export",
                         target="admin: selected orders", file_format=file_format)
