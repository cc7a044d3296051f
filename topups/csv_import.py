"""Reading a bulk-order CSV file into rows: bytes in, cells out, nothing checked against the database.

A file is refused as a whole (``CsvImportError`` with a message for staff) when it cannot be read
as the table we expect: binary data, an encoding we cannot tell, no header, missing columns, no
rows, or over the size cap. Everything about single rows (numbers, values, refs) is checked later,
per row, by ``topups.services.batches`` so the preview can show each problem where it is.

Encodings: UTF-8 (with or without the BOM Excel writes for "CSV UTF-8") is tried first. Otherwise
the file comes from an older Excel on Windows: Windows-1256 (Arabic) or Windows-1252 (French).
Any byte string decodes as one of those, so the choice is made by plausibility (Arabic letters
versus Latin letters) and the preview says which encoding was assumed.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

MAX_ROWS = 5000
MAX_BYTES = 1024 * 1024
REQUIRED_COLUMNS = ("type", "number", "value")
# plan_code: a mobile top-up ("flexy") row, whose type is FLEXY and value the amount (blank for a fixed plan).
OPTIONAL_COLUMNS = ("ref", "note", "plan_code")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
TEMPLATE = ("type,number,value,ref,note,plan_code\r\nADSL,036362608,1000,,,\r\n4G,0665983439,1500,,,\r\n"
            "FLEXY,0661234567,500,,,PREPAID_MOBILIS\r\n")

# Bytes that never appear in a text file (tab, LF and CR are allowed).
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_CP1252_PLAUSIBLE = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿŒœŠšŽžŸ€’‘“”«»–—…°² ]")


# What a spreadsheet runs as a formula (CSV injection): a cell starting with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def starts_like_formula(text: str) -> bool:
    """The one rule for a cell a spreadsheet would run as a formula. Exports neutralise such
    cells (``csv_export.safe_cell``); a bulk file's cells are refused, except a signed number
    (``services.batches``)."""
    return text.startswith(FORMULA_START)


class CsvImportError(ValueError):
    """The file cannot be read as a bulk-order table; the message says why and what to do."""


@dataclass
class ParsedFile:
    # {"line": <line in the file>, "type", "number", "value", "ref", "note", "plan_code": cells,
    #  "long": more cells than the header}
    rows: list[dict]
    encoding: str  # utf-8 | cp1256 | cp1252
    ignored_columns: list[str] = field(default_factory=list)


def parse_csv(data: bytes) -> ParsedFile:
    """Decode and split a bulk-order file. Raises CsvImportError for a file that is not usable."""
    if len(data) > MAX_BYTES:
        raise CsvImportError(_("The file is too large (%(size)s KB): the limit is %(limit)s KB and %(rows)s rows. "
                               "Split it into smaller files.")
                             % {"size": len(data) // 1024, "limit": MAX_BYTES // 1024, "rows": MAX_ROWS})
    text, encoding = decode(data)
    if not text.strip():
        raise CsvImportError(_("The file is empty."))
    header_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False))
    except csv.Error as exc:
        raise CsvImportError(_("The file is not a valid CSV table (%(error)s).") % {"error": exc}) from exc
    table = [(number, cells) for number, cells in enumerate(table, start=1) if any(c.strip() for c in cells)]
    if not table:
        raise CsvImportError(_("The file is empty."))
    columns, ignored = _columns(table[0][1])
    body = table[1:]
    if not body:
        raise CsvImportError(_("The file has a header row but no orders."))
    if len(body) > MAX_ROWS:
        raise CsvImportError(_("The file has %(count)s rows: the limit is %(limit)s. Split it into smaller files.")
                             % {"count": len(body), "limit": MAX_ROWS})
    rows = []
    for number, cells in body:
        row = {"line": number}
        for position, name in columns.items():
            row[name] = cells[position].strip() if position < len(cells) else ""
        for name in OPTIONAL_COLUMNS:
            row.setdefault(name, "")
        row["long"] = len(cells) > len(table[0][1])
        rows.append(row)
    return ParsedFile(rows=rows, encoding=encoding, ignored_columns=ignored)


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read with, or CsvImportError."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvImportError(_("This file is saved as UTF-16 (\"Unicode text\"). Save it as \"CSV UTF-8\" "
                               "and upload it again."))
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise CsvImportError(_("This is an Excel workbook, not a CSV file. In Excel choose File › Save as › "
                               "\"CSV UTF-8\" and upload that file."))
    if _CONTROL_BYTES.search(data):
        raise CsvImportError(_("This is not a text file (it contains binary data). Upload a CSV file saved "
                               "from a spreadsheet as \"CSV UTF-8\"."))
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    arabic_text = data.decode("cp1256")
    non_ascii = [c for c in arabic_text if ord(c) > 127]
    if sum(1 for c in non_ascii if _ARABIC.match(c)) * 2 >= len(non_ascii):
        return arabic_text, "cp1256"
    try:
        latin_text = data.decode("cp1252")
    except UnicodeDecodeError:
        latin_text = ""
    non_ascii = [c for c in latin_text if ord(c) > 127]
    if latin_text and sum(1 for c in non_ascii if _CP1252_PLAUSIBLE.match(c)) * 10 >= len(non_ascii) * 9:
        return latin_text, "cp1252"
    raise CsvImportError(_("The file's text encoding could not be recognised (it is neither UTF-8 nor Windows "
                           "Arabic or French). Save it as \"CSV UTF-8\" and upload it again."))


def _columns(header: list[str]) -> tuple[dict[int, str], list[str]]:
    """Map the header's positions to our column names; refuse a header without the required ones."""
    names = [cell.strip().lstrip("\ufeff").strip().lower() for cell in header]
    columns: dict[int, str] = {}
    ignored = []
    for position, name in enumerate(names):
        if name in COLUMNS:
            if name in columns.values():
                raise CsvImportError(_("The column \"%(name)s\" appears twice in the header.") % {"name": name})
            columns[position] = name
        elif name:
            ignored.append(header[position].strip())
    missing = [name for name in REQUIRED_COLUMNS if name not in columns.values()]
    if missing:
        message = ngettext(
            "Missing column: %(missing)s.", "Missing columns: %(missing)s.", len(missing)
        ) % {"missing": ", ".join(missing)}
        message += " " + _("The first row must be the header %(expected)s (ref and note are optional); "
                           "this file's first row is: %(found)s. Download the template to see the format.") % {
            "expected": ",".join(REQUIRED_COLUMNS),
            "found": " | ".join(h.strip() for h in header)[:200] or "—",
        }
        raise CsvImportError(message)
    return columns, ignored
