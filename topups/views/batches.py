"""Batches (bulk files, as staff call them) on the dashboard: upload a CSV, preview every row,
confirm, follow, download results.

Thin views over ``topups.services.batches``; every page needs the ``topups.bulk_order``
permission (Supervisors). Card codes in the results follow the same rule as everywhere else, through the
same audited door (``audit.show_codes_streamed``).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from topups import order_export, selectors
from topups.batch_messages import problem_message
from topups.csv_export import BOM, Text, table_response
from topups.csv_import import MAX_BYTES, MAX_ROWS, TEMPLATE
from topups.models import Batch, BatchStatus, OrderStatus
from topups.notes import refusal_reason
from topups.services import audit, batches
from topups.services.actors import Actor
from topups.status_words import STATUS_TONE

PERMISSION = "topups.bulk_order"
S = OrderStatus


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"), allow_empty_file=True)


def _get_batch(pk: int, *, with_rows: bool = True) -> Batch:
    batch = selectors.batch_detail(pk, with_rows=with_rows)
    if batch is None:
        raise Http404(_("No such bulk file."))
    return batch


@require_GET
@login_required
@permission_required(PERMISSION, raise_exception=True)
def batch_list(request):
    """The uploaded files, newest first, with who uploaded them and when."""
    return render(request, "topups/batches/list.html", {"batches": selectors.recent_batches()})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(PERMISSION, raise_exception=True)
def batch_new(request):
    """Upload a file: it is parsed and checked, nothing is created but the preview."""
    context = {"max_rows": MAX_ROWS, "max_kb": MAX_BYTES // 1024}
    if request.method == "GET":
        return render(request, "topups/batches/new.html", {"form": UploadForm(), **context})
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "topups/batches/new.html", {"form": form, **context}, status=400)
    upload = form.cleaned_data["file"]
    data = upload.read(MAX_BYTES + 1)
    try:
        batch = batches.preview_batch(file_name=upload.name, data=data, actor=Actor.user(request.user))
    except batches.CsvImportError as exc:
        form.add_error("file", str(exc))
        return render(request, "topups/batches/new.html", {"form": form, **context}, status=400)
    return redirect("topups:batch", pk=batch.pk)


@require_GET
@login_required
@permission_required(PERMISSION, raise_exception=True)
def batch_template(request):
    response = HttpResponse(BOM + TEMPLATE, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="bulk-orders-template.csv"'
    return response


def _shown_rows(rows: list[dict]) -> list[dict]:
    return [{**row, "error_messages": [problem_message(c, p) for c, p in row["errors"]],
             "warning_messages": [problem_message(c, p) for c, p in row["warnings"]]} for row in rows]


@require_GET
@login_required
@permission_required(PERMISSION, raise_exception=True)
def batch_detail(request, pk: int):
    """The preview (before confirming) or the progress (after)."""
    batch = _get_batch(pk)
    context = {
        "batch": batch,
        "file_warnings": [problem_message(c, p) for c, p in batch.warnings],
    }
    if batch.status == BatchStatus.PREVIEWED:
        context.update(rows=_shown_rows(batch.rows), blocked=batches.blocking_reasons(batch, request.user.pk),
                       offer_stale_balance=request.session.get(_stale_key(pk), False))
    else:
        progress = selectors.batch_progress(batch)
        context.update(progress=progress, counts=_counts(progress), failures=_failures(progress),
                       skipped=[row for row in _shown_rows(batch.rows) if not row["valid"]])
    return render(request, "topups/batches/detail.html", context)


@require_POST
@login_required
@permission_required(PERMISSION, raise_exception=True)
def batch_confirm(request, pk: int):
    """Send the valid rows. A second confirmation (double click, reload) creates nothing more."""
    _get_batch(pk, with_rows=False)
    result = batches.confirm_batch(batch_id=pk, actor=Actor.user(request.user),
                                   accept_stale_balance=request.POST.get("accept_stale_balance") == "1")
    if result.already_confirmed:
        messages.info(request, _("This file was already confirmed: no order was created twice."))
    elif result.changed:
        messages.warning(request, _("Something changed since the preview (catalog, references or recent orders). "
                                    "Nothing was sent: check the updated preview and confirm again."))
    elif result.blocked:
        for reason in result.blocked:
            messages.error(request, reason)
        if result.stale_balance is not None:
            # The next confirmation offers to decide on the figure left, its age named above.
            request.session[_stale_key(pk)] = True
    else:
        messages.success(request, ngettext("%(count)d order created and queued for sending.",
                                           "%(count)d orders created and queued for sending.", result.created)
                         % {"count": result.created})
    return redirect("topups:batch", pk=pk)


def _stale_key(pk: int) -> str:
    return f"batch-stale-balance-{pk}"


def _counts(progress: selectors.BatchProgress) -> list[dict]:
    return [{"status": status.value, "label": str(status.label), "tone": STATUS_TONE.get(status, "run"),
             "count": progress.counts.get(status.value, 0)} for status in S]


@require_GET
@login_required
@permission_required(PERMISSION, raise_exception=True)
def batch_status(request, pk: int):
    """Counts per status and failures, polled by the batch page."""
    batch = _get_batch(pk, with_rows=False)
    progress = selectors.batch_progress(batch)
    return JsonResponse({
        "status": batch.status,
        "total": progress.total,
        "final": progress.final,
        "done": progress.done,
        "counts": _counts(progress),
        "failures": _failures(progress),
    })


def _failures(progress: selectors.BatchProgress) -> list[dict]:
    return [{"ref": f["ref"], "number": f["number"], "status": str(S(f["status"]).label),
             "reason": refusal_reason(f["refusal_code"]) if f["refusal_code"] else str(S(f["status"]).label),
             "detail": f["refusal_message"]}
            for f in progress.failures]


@require_GET
@login_required
@permission_required(PERMISSION, raise_exception=True)
def batch_results(request, pk: int):
    """Every row of the file: its input, what became of it, and the card code if the user may see it."""
    batch = _get_batch(pk)
    user = request.user
    header = [_("Row"), "type", "number", "value", "ref", "note",
              *order_export.headers(order_export.BATCH_RESULT_COLUMNS), "plan_code"]

    def rows():
        shown = audit.show_codes_streamed(request, selectors.batch_result_rows(batch), via=f"batch {batch.pk} results",
                                          key=lambda pair: order_export.code_key(pair[1]))
        for (row, order), code in shown:
            # The number as it was sent (normalised), or as typed when it could not be read.
            number = Text(row["number"] or row["input"]["number"])
            cells = [row["line"], row["input"]["type"], number, *(row["input"][k] for k in ("value", "ref", "note"))]
            plan_code = row["input"].get("plan_code", "")  # last: the columns before it keep their places
            if order is None:
                reason = "; ".join(problem_message(c, p) for c, p in row["errors"])
                yield [*cells, "", _("Not sent") if row["errors"] else _("Not created"), reason, "", "", plan_code]
                continue
            yield [*cells, *order_export.cells(order_export.BATCH_RESULT_COLUMNS, order, code), plan_code]

    audit.record(actor=Actor.user(user), action="export", target=f"batch {batch.pk} results", request=request,
                 detail={"batch": batch.pk, "rows": batch.row_count,
                         "full_codes": user.has_perm("topups.view_card_code")})
    file_format = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    return table_response(header, rows(), f"bulk-{batch.pk}-results", file_format)
