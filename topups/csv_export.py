"""Writing the files staff open in a spreadsheet (CSV, or XLSX for Excel): one place for what
every export must do.

Cells that a spreadsheet would run as a formula are neutralised (CSV injection: a number or note
typed as ``=cmd|' /C calc'!A0`` must stay text), the CSV starts with a BOM so that Excel reads
UTF-8 (Arabic notes, names) correctly, and identifiers (``Text``: line numbers, card codes,
transaction numbers) stay text: Excel would drop an ADSL number's leading 0 and show a 12-digit
code as 1.23457E+11. In a CSV an all-digit identifier is written ``="036362608"``, which Excel
shows as the text 036362608; in an XLSX it is a text cell.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone

from topups.csv_import import starts_like_formula

BOM = "\ufeff"


FORMATS = ("csv", "xlsx")


class Text(str):
    """An identifier a spreadsheet must keep as text (leading zeros, long digit strings)."""


def safe_cell(value) -> str:
    """Neutralise cells a spreadsheet would run as a formula (CSV injection); an all-digit
    identifier as Excel's text form."""
    text = "" if value is None else str(value)
    if isinstance(value, Text) and text.isascii() and text.isdigit():
        return f'="{text}"'  # only digits inside: nothing to run
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


def xlsx_response(header: list[str], rows: Iterable[Iterable], name: str) -> FileResponse:
    """``header`` and ``rows`` as ``<name>-<local time>.xlsx`` (openpyxl's write-only workbook, so
    rows are not all kept in memory): text stays text (never a formula), numbers are numbers."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(name[:31])

    def cell(value):
        if isinstance(value, int | float) or (value.__class__.__name__ == "Decimal"):
            return WriteOnlyCell(sheet, value=value)
        text = ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value))
        out = WriteOnlyCell(sheet, value=text)
        out.data_type = "s"  # a string, even if it starts with "=": never a formula
        if isinstance(value, Text):
            out.number_format = "@"
        return out

    sheet.append([cell(title) for title in header])
    for row in rows:
        sheet.append([cell(value) for value in row])
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    workbook.save(spool)
    spool.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(spool, as_attachment=True, filename=f"{name}-{stamp}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def table_response(header: list[str], rows: Iterable[Iterable], name: str, file_format: str = "csv"):
    """The one way a table leaves as a file: CSV (streamed) or XLSX."""
    if file_format == "xlsx":
        return xlsx_response(header, rows, name)
    return csv_response(csv_lines(header, rows), name)


def local_iso(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""
