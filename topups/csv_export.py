"""Writing CSV files staff open in a spreadsheet: one place for what every export must do.

Cells that a spreadsheet would run as a formula are neutralised (CSV injection: a number or note
typed as ``=cmd|' /C calc'!A0`` must stay text), and the file starts with a BOM so that Excel
reads UTF-8 (Arabic notes, names) correctly.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

from topups.csv_import import starts_like_formula

BOM = "\ufeff"


def safe_cell(value) -> str:
    """Neutralise cells a spreadsheet would run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if starts_like_formula(text) else text


class Echo:
    """A file-like object whose write returns the line, for csv.writer into a streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The header (after a BOM) and the rows as CSV lines, every cell neutralised."""
    writer = csv.writer(Echo())
    yield BOM + writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


def csv_response(lines: Iterable[str], name: str) -> StreamingHttpResponse:
    """Stream ``lines`` as a download named ``<name>-<local time>.csv``."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


def local_iso(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""
