"""Reads of the bulk files: the list, one file, its progress and its result rows."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from topups.models import FINAL_STATUSES, Batch, OrderStatus

S = OrderStatus


def recent_batches(limit: int = 100) -> list[Batch]:
    """The uploaded files, newest first, without their rows (one query)."""
    return list(Batch.objects.select_related("created_by").defer("rows", "warnings")[:limit])


def batch_detail(pk: int, *, with_rows: bool = True) -> Batch | None:
    """One uploaded file with its uploader; ``with_rows`` False leaves its preview rows unread."""
    queryset = Batch.objects.select_related("created_by")
    if not with_rows:
        queryset = queryset.defer("rows")
    return queryset.filter(pk=pk).first()


@dataclass
class BatchProgress:
    counts: dict[str, int]
    total: int
    final: int
    failures: list[dict]

    @property
    def done(self) -> bool:
        return self.total > 0 and self.final == self.total


# A bulk file's orders that failed, listed with their reasons as it progresses.
FAILED_STATUSES = (S.REFUSED, S.REFUNDED, S.CANCELLED, S.ATTENTION)


def batch_progress(batch: Batch, *, failure_limit: int = 200) -> BatchProgress:
    """Orders of the batch per status and the failures with their reasons: two queries."""
    counts = dict(batch.orders.order_by().values_list("status").annotate(n=Count("id")))
    failures = list(
        batch.orders.filter(status__in=FAILED_STATUSES).order_by("id")
        .values("id", "ref", "line_type", "number", "value", "status", "refusal_code", "refusal_message")
        [:failure_limit]
    )
    final = sum(n for status, n in counts.items() if status in FINAL_STATUSES)
    return BatchProgress(counts=counts, total=sum(counts.values()), final=final, failures=failures)


RESULT_FIELDS = ("ref", "service", "status", "refusal_code", "refusal_message", "num_trans", "card_code",
                 "created_by_id")


def batch_result_rows(batch: Batch):
    """Each row of the file with its order (if one was created): (row, order values or None)."""
    orders = {values["ref"]: values for values in batch.orders.values(*RESULT_FIELDS)}
    for row in batch.rows:
        yield row, orders.get(row.get("order_ref"))
