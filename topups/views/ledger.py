"""The daily reconciliation with the provider's ledger: the day's figures and flags, resolving a
flag with a note, and the day's rows as CSV. Thin views over ``topups.services.reconcile`` (writes) and ``topups.selectors.ledger`` (reads); every
page needs ``topups.reconcile_ledger`` (Supervisors)."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from topups.csv_export import Text, local_iso, table_response
from topups.inputs import DayField
from topups.models import FlagKind, OrderStatus
from topups.notes import ledger_operation_shown
from topups.selectors import ledger as ledger_reads
from topups.services import audit, reconcile
from topups.services.actors import Actor

PERMISSION = "topups.reconcile_ledger"
FLAGS_SHOWN = 200


class DayForm(forms.Form):
    date = DayField(label=gettext_lazy("Day"), required=False)


class ResolveForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Resolution note"), max_length=2000, strip=True)


def _day(request) -> tuple[date, DayForm]:
    """The day asked for (today when none), and the form that read it: a bad date is an error
    on the form (the page) or a 400 (the export), never a day whose bounds overflow."""
    form = DayForm(request.GET or None)
    if form.is_valid() and form.cleaned_data["date"]:
        return form.cleaned_data["date"], form
    return timezone.localdate(), form


@require_GET
@login_required
@permission_required(PERMISSION, raise_exception=True)
def ledger_day(request):
    """One day: totals per ledger type, rows per match state, opening and closing balance from the
    ledger against our orders, and the day's flags (open ones first) with a form to resolve each."""
    day, asked = _day(request)
    flags = list(ledger_reads.day_flags(day)[:FLAGS_SHOWN])
    for flag in flags:
        flag.takes_back = not flag.resolved_at and reconcile.takes_back(flag)
    form = asked if asked.errors else DayForm(initial={"date": day})
    return render(request, "ledger/day.html", {
        "day": day, "form": form, "summary": ledger_reads.day_summary(day), "flags": flags,
        "flags_shown": FLAGS_SHOWN, "resolve_form": ResolveForm(), "cursor": reconcile.ledger.cursor(),
        "other_days": ledger_reads.open_flag_days(exclude=day),
    })


@require_POST
@login_required
@permission_required(PERMISSION, raise_exception=True)
def ledger_resolve(request, pk: int):
    """Close one open flag with a note (audited). Nothing else changes, but for the refund of a card
    we show as delivered: the order then moves to *card taken back* (``reconcile.resolve_flag``)."""
    flag = ledger_reads.flag_detail(pk)
    if flag is None:
        raise Http404(_("No such flag."))
    back = reverse("topups:ledger") + f"?date={flag.day.isoformat()}"
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write what was found before resolving the flag."))
        return redirect(back)
    done = reconcile.resolve_flag(flag_id=pk, note=form.cleaned_data["note"], actor=Actor.user(request.user),
                                  request=request)
    if done is None:
        messages.warning(request, _("This flag was already resolved."))
    elif done.order is not None and done.order.status == OrderStatus.TAKEN_BACK and done.kind == FlagKind.REFUND_NOT_LOCAL:
        messages.success(request, _("Flag resolved: the order %(ref)s is now Card taken back; hand the customer's "
                                    "money back.") % {"ref": done.order.ref})
    else:
        messages.success(request, _("Flag resolved."))
    return redirect(back)


@require_GET
@login_required
@permission_required(PERMISSION, raise_exception=True)
def ledger_export(request):
    """The day's ledger rows with how each was matched, as CSV (or XLSX), through the one export
    path; the export is audited."""
    day, asked = _day(request)
    if asked.errors:
        return HttpResponseBadRequest(asked.errors["date"][0], content_type="text/plain; charset=utf-8")
    file_format = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    audit.record(actor=Actor.user(request.user), action="export", target=f"ledger.{file_format}",
                 detail={"day": day.isoformat()}, request=request)
    header = [_("Time"), _("Type"), _("Operation"), _("Amount"), _("Old balance"), _("New balance"),
              _("Object id"), _("Order"), _("Match"), _("Flags"), _("Ledger id"), _("Note")]
    states = dict(reconcile.LedgerState.choices)
    kinds = dict(FlagKind.choices)

    def rows():
        for row in ledger_reads.day_rows(day):
            yield [local_iso(row["time"]), row["type"], ledger_operation_shown(row["operation"]), row["amount"],
                   row["old_balance"], row["new_balance"], Text(row["objid"]), Text(row["order__ref"] or ""),
                   states.get(row["state"], row["state"]), kinds.get(row["flag_kinds"], row["flag_kinds"] or ""),
                   Text(row["api_id"]), row["note"]]

    return table_response(header, rows(), f"ledger-{day.isoformat()}", file_format)
