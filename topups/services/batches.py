"""Batches: orders from an uploaded CSV file (a "bulk file" on the staff's screens), previewed
row by row, then created and sent once.

Nothing is sent that the user did not see: ``preview_batch`` parses the file, checks every row
against the cached catalog, the existing references and the recent orders, and stores the result
on a ``Batch``. ``confirm_batch`` checks the same rows again; if anything the user saw has changed
(a reference used meanwhile, a value out of stock, an order for the same line placed since) it
stores the new preview and sends nothing. Otherwise it claims the batch with a conditional UPDATE
(so a double click or a reload creates the orders once), creates the orders and their first events
in a constant number of queries, and hands them to ``request_send``: the same path as a single
order, with its number check before each first send.

Both run in a constant number of queries, whatever the size of the file. No API call is made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from topups import lines
from topups.csv_import import CsvImportError, parse_csv, starts_like_formula
from topups.inputs import parse_amount
from topups.keys import LABEL_PATTERN, file_ref
from topups.lines.base import Item, ProductLine
from topups.models import (
    Batch,
    BatchStatus,
    Order,
    OrderStatus,
    new_ref,
)
from topups.notes import Note
from topups.numbers import compact
from topups.oneclick import errors as api_errors
from topups.selectors import recent_by_line, spendable_balance
from topups.services import account as accounts
from topups.services import lifecycle, pricing, tills
from topups.services.account import current_account
from topups.services.actors import Actor
from topups.services.orders import SEND_OVERDUE, request_send

log = logging.getLogger("topups.batches")
S = OrderStatus

_COLUMN_LABELS = {"type": "type", "number": "number", "value": "value", "ref": "ref", "note": "note",
                  "plan_code": "plan_code"}
_CELLS = ("type", "number", "value", "ref", "note", "plan_code")

__all__ = ["CsvImportError", "preview_batch", "confirm_batch"]


# Problems of a row or of the file are stored as [code, params], so that the preview reads in the
# language of whoever looks at it: topups.batch_messages turns them into sentences.
ENCODING_NAMES = {"cp1256": "Windows-1256 (Arabic)", "cp1252": "Windows-1252 (French)"}


# Checking rows ---------------------------------------------------------------------------------


@dataclass
class Checked:
    rows: list[dict]
    valid_count: int
    total_cost: Decimal
    balance: Decimal | None
    warnings: list = field(default_factory=list)


def _looks_like_formula(column: str, text: str) -> bool:
    if not starts_like_formula(text):
        return False
    # "+213 665…" (Arabic-Indic digits too, as the counter reads them) and "-" alone are how people
    # write numbers; anything else after + or - is suspect.
    if text.startswith(("+", "-")):
        if column == "number":
            rest = compact(text[1:])
            return not (rest.isascii() and (rest.isdigit() or not rest))
        return any(c not in set("0123456789 .,") for c in text[1:])
    return True


def parse_value(raw: str) -> Decimal | None:
    """A value cell ("1 000 DA", "500DZD"), bounded; None when it is not a positive amount."""
    text = raw.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    for suffix in ("DZD", "DA"):
        if text.upper().endswith(suffix):
            text = text[: -len(suffix)]
    try:  # bounded before anything is expanded or stored (a cell of "1E+999999" is refused here)
        value = parse_amount(text)
    except ValidationError:
        return None
    return value if value > 0 else None


def _line_of(cells: dict) -> ProductLine:
    """The product line a row belongs to: the first other line that claims it, else the first line."""
    first, *others = lines.all_lines()
    return next((line for line in others if line.claims_row(cells)), first)


def _check_one(source: dict, catalogs: dict) -> dict:
    """One row's normalised values and problems, from its cells alone (and the catalog or the plans)."""
    errors: list = []
    row = {"line": source["line"], "input": {k: source.get(k, "") for k in _CELLS},
           "service": "", "line_type": "", "plan_code": "", "number": "", "value": "", "cost": None,
           "ref": "", "note": "", "errors": errors, "warnings": []}
    cells = row["input"]
    # A note is free text kept as typed ("+ 2 cards", "-50 DA off"): it is never read as a value, and
    # every export neutralises formulas (csv_export), so it is not refused here.
    formula = {name for name, text in cells.items() if text and name != "note" and _looks_like_formula(name, text)}
    for name in sorted(formula):
        errors.append(["formula", {"column": _COLUMN_LABELS[name]}])
    if source.get("long"):
        errors.append(["long", {}])
    line = _line_of(cells)
    row["service"] = line.code
    for name in line.required_cells():
        if not cells[name]:
            errors.append(["missing", {"column": _COLUMN_LABELS[name]}])
    if line.code not in catalogs:
        catalogs[line.code] = line.bulk_catalog()
    line.check_row(row, formula, catalogs[line.code])
    _check_label_cells(row, formula)
    return row


def _check_label_cells(row: dict, formula: set) -> None:
    """The row's own label (ref) and note."""
    cells, errors = row["input"], row["errors"]
    if cells["ref"] and "ref" not in formula:
        if LABEL_PATTERN.match(cells["ref"]):
            row["ref"] = cells["ref"]
        else:
            errors.append(["bad_ref", {"ref": cells["ref"][:70]}])
    if len(cells["note"]) > 255:
        errors.append(["note_too_long", {}])
    elif "note" not in formula:
        row["note"] = cells["note"]


def check_rows(sources: list[dict], *, now=None) -> Checked:
    """Check every row: its own cells, duplicates inside the file, references already used, and
    orders for the same number and value in the last SAME_LINE_WARNING_HOURS hours. Four queries in all."""
    now = now or timezone.now()
    first = next(lines.all_lines())
    catalogs: dict = {first.code: first.bulk_catalog()}  # each line's catalog, read once (when a row needs it)
    rows = [_check_one(source, catalogs) for source in sources]
    book = pricing.PriceBook()  # the price each order will be charged, shown in the preview
    for row in rows:
        if not row["value"] or (row["cost"] is None and row["errors"]):
            continue
        sale = _quote(row, book)
        if sale is None:
            continue
        row["price"] = str(sale.price)
        if sale.refused and not row["errors"]:  # as at the counter (orders.create_order)
            row["errors"].append(["below_cost", {"service": row["service"], "price": str(sale.price),
                                                 "cost": str(sale.cost)}])
    warnings: list = []
    if not catalogs[first.code]:
        warnings.append(["catalog_empty", {}])

    seen_lines: dict[tuple, int] = {}
    seen_refs: dict[str, int] = {}
    for row in rows:
        if (row["line_type"] or row["plan_code"]) and row["number"] and row["value"]:
            key = (row["line_type"], row["number"], row["value"])
            if key in seen_lines:
                row["errors"].append(["duplicate", {"first": seen_lines[key]}])
            else:
                seen_lines[key] = row["line"]
        if row["ref"]:
            if row["ref"] in seen_refs:
                row["errors"].append(["duplicate_ref", {"ref": row["ref"], "first": seen_refs[row["ref"]]}])
            else:
                seen_refs[row["ref"]] = row["line"]

    # A file's ref cell is a label; the order's reference is derived from it (keys.file_ref).
    by_ref = {file_ref(label): label for label in seen_refs}
    used_refs = {by_ref[ref] for ref in Order.objects.filter(ref__in=list(by_ref)).values_list("ref", flat=True)}
    numbers = {row["number"] for row in rows if row["number"]}
    recent = recent_by_line(numbers, now=now)
    hours = f"{settings.SAME_LINE_WARNING_HOURS:g}"

    valid_count, total_cost = 0, Decimal("0")
    for row in rows:
        if row["ref"] in used_refs:
            row["errors"].append(["ref_used", {"ref": row["ref"]}])
        if row["value"]:
            refs = recent.get((row["line_type"], row["number"], Decimal(row["value"])))
            if refs:
                row["warnings"].append(["recent", {"count": len(refs), "hours": hours,
                                                   "refs": ", ".join(refs[:3]) + ("…" if len(refs) > 3 else "")}])
        row["valid"] = not row["errors"]
        if row["valid"]:
            valid_count += 1
            # A plan without a known cost counts at its face value: the balance check stays on the safe side.
            total_cost += Decimal(row["cost"] if row["cost"] is not None else row["value"])

    balance = spendable_balance()
    if balance is None:
        warnings.append(["balance_unknown", {}])
    return Checked(rows, valid_count, total_cost, balance, warnings)


def _cost(row: dict) -> Decimal | None:
    return None if row["cost"] is None else Decimal(row["cost"])


def _service(row: dict) -> str:
    """The row's line (a file previewed before lines were stored on rows: the first line's)."""
    return row.get("service") or next(lines.all_lines()).code


def _quote(row: dict, book: pricing.PriceBook):
    """The price of a checked row, by its line's rule (the counter's)."""
    item = Item(number=row["number"], value=Decimal(row["value"]), cost=_cost(row), line_type=row["line_type"],
                plan_code=row.get("plan_code", ""))
    return lines.get(_service(row)).quote(item, book)


@dataclass(frozen=True)
class StaleBalance:
    """The balance could not be refreshed before a confirmation: the cached figure (None: never
    fetched), its fetch time, and why the refresh failed."""

    balance: Decimal | None
    fetched_at: datetime | None
    error: str


def freshen_balance() -> StaleBalance | None:
    """Fetch the balance again when the cached one is older than two refresh periods, so a
    confirmation never decides on an old figure. None when the figure is fresh; when it cannot be
    refreshed, what is left (the cached figure and its age), for the confirmation to refuse or
    name it."""
    account = current_account()
    max_age = timedelta(minutes=2 * settings.BALANCE_REFRESH_MINUTES)
    fetched = account.balance_fetched_at if account else None
    if fetched is not None and timezone.now() - fetched <= max_age:
        return None
    try:
        accounts.refresh_account()
    except api_errors.OneClickError as exc:
        log.warning("balance not refreshed before a confirmation: %s", exc)
        return StaleBalance(account.balance if account else None, fetched, exc.message[:200])
    return None


def stale_balance_reason(stale: StaleBalance) -> str:
    """The sentence a confirmation on a balance that could not be refreshed shows: the figure and its age."""
    if stale.balance is None or stale.fetched_at is None:
        return _("The balance could not be fetched (%(error)s), so whether the account covers this file is not "
                 "known. Tick “Send without a current balance” and confirm again to send anyway (the "
                 "API refuses what the balance does not cover), or try again later.") % {"error": stale.error}
    return _("The balance could not be refreshed (%(error)s): the last figure, %(balance)s DA, is %(age)s old. "
             "Tick “Send without a current balance” and confirm again to decide on it, or try again "
             "later.") % {
        "error": stale.error, "age": timesince(stale.fetched_at),
        "balance": number_format(stale.balance, decimal_pos=2, force_grouping=True)}


def blocking_reasons(batch: Batch, user_id: int | None = None) -> list[str]:
    """Why the batch cannot be confirmed as it stands (empty when it can); ``user_id``: who would
    confirm it, whose open cash session the orders join (required as at the counter and in the
    admin's form: ``tills.session_missing``)."""
    reasons = []
    if tills.session_missing(user_id):
        reasons.append(str(tills.NO_SESSION))
    if batch.valid_count == 0:
        reasons.append(_("No row can be sent. Fix the file and upload it again."))
    if batch.balance is not None and batch.total_cost > batch.balance:
        reasons.append(_("The balance (%(balance)s DA) does not cover the valid rows (%(cost)s DA). Top up the "
                         "account or send a smaller file.") % {
            "balance": number_format(batch.balance, decimal_pos=2, force_grouping=True),
            "cost": number_format(batch.total_cost, decimal_pos=2, force_grouping=True),
        })
    return reasons


# Preview -----------------------------------------------------------------------------------------


def preview_batch(*, file_name: str, data: bytes, actor: Actor) -> Batch:
    """Parse and check an uploaded file and store its preview. Creates no order and calls no API.

    Raises CsvImportError (with a message for staff) for a file that cannot be read as a table.
    """
    parsed = parse_csv(data)
    checked = check_rows(parsed.rows)
    file_warnings = list(checked.warnings)
    if parsed.encoding != "utf-8":
        file_warnings.insert(0, ["encoding", {"encoding": ENCODING_NAMES[parsed.encoding]}])
    if parsed.ignored_columns:
        file_warnings.insert(0, ["ignored_columns", {"columns": ", ".join(parsed.ignored_columns)[:200]}])
    batch = Batch.objects.create(
        file_name=(file_name or "upload.csv")[:255], encoding=parsed.encoding, rows=checked.rows,
        warnings=file_warnings, row_count=len(checked.rows), valid_count=checked.valid_count,
        total_cost=checked.total_cost, balance=checked.balance, created_by_id=actor.user_id,
    )
    log.info("batch %s previewed by %s: %d rows, %d valid", batch.pk, actor.label, batch.row_count,
             batch.valid_count)
    return batch


# Confirm -----------------------------------------------------------------------------------------


@dataclass
class ConfirmResult:
    batch: Batch
    created: int = 0
    already_confirmed: bool = False
    changed: bool = False
    blocked: list[str] = field(default_factory=list)
    stale_balance: StaleBalance | None = None


def _signature(rows: list[dict]) -> list:
    return [(r["line"], r["number"], r["value"], r["cost"], r.get("price"), r["errors"], r["warnings"]) for r in rows]


def confirm_batch(*, batch_id: int, actor: Actor, accept_stale_balance: bool = False) -> ConfirmResult:
    """Create the batch's valid orders and request their sending, exactly once.

    Returns with ``already_confirmed`` for a second confirmation (nothing created), ``changed``
    when the rows no longer check as they did in the preview (the new preview is stored, nothing
    created), ``blocked`` when the preview itself forbids it (no valid row, balance too low), or
    when the balance could not be refreshed (``stale_balance``) and the supervisor did not accept
    deciding on the figure left (``accept_stale_balance``, a confirmation naming its age).
    """
    stale = freshen_balance()
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch_id)
        if batch.status != BatchStatus.PREVIEWED:
            return ConfirmResult(batch, already_confirmed=True)
        if stale is not None and not accept_stale_balance:
            # The pre-check would decide on an old (or no) figure: the supervisor must say so.
            return ConfirmResult(batch, blocked=[stale_balance_reason(stale)], stale_balance=stale)
        sources = [{**row["input"], "line": row["line"], "long": any(e[0] == "long" for e in row["errors"])}
                   for row in batch.rows]
        checked = check_rows(sources)
        if _signature(checked.rows) != _signature(batch.rows) or checked.total_cost != batch.total_cost:
            _store_preview(batch, checked)
            return ConfirmResult(batch, changed=True)
        # The balance may have moved since the preview: block on the current one.
        batch.balance = checked.balance
        blocked = blocking_reasons(batch, actor.user_id)
        if blocked:
            batch.save(update_fields=["balance"])
            return ConfirmResult(batch, blocked=blocked)
        now = timezone.now()
        claimed = Batch.objects.filter(pk=batch.pk, status=BatchStatus.PREVIEWED).update(
            status=BatchStatus.CONFIRMED, confirmed_at=now, confirmed_by_id=actor.user_id, balance=checked.balance)
        if not claimed:
            return ConfirmResult(batch, already_confirmed=True)
        try:
            with transaction.atomic():
                created = _create_orders(batch, actor, now)
        except tills.TillError as exc:  # the session was closed since the check above
            Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.PREVIEWED, confirmed_at=None,
                                                     confirmed_by=None)
            batch.status = BatchStatus.PREVIEWED
            return ConfirmResult(batch, blocked=[str(exc)])
        except IntegrityError:
            # A reference of the file was taken between the check and the insert.
            Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.PREVIEWED, confirmed_at=None,
                                                     confirmed_by=None)
            _store_preview(batch, check_rows(sources))
            batch.status = BatchStatus.PREVIEWED
            return ConfirmResult(batch, changed=True)
        batch.status, batch.confirmed_at, batch.confirmed_by_id = BatchStatus.CONFIRMED, now, actor.user_id
    log.info("batch %s confirmed by %s: %d orders", batch.pk, actor.label, created)
    request_send(Order.objects.filter(batch=batch, status=S.NEW), actor=actor)
    return ConfirmResult(batch, created=created)


def _store_preview(batch: Batch, checked: Checked) -> None:
    batch.rows, batch.valid_count, batch.total_cost = checked.rows, checked.valid_count, checked.total_cost
    batch.balance = checked.balance
    batch.save(update_fields=["rows", "valid_count", "total_cost", "balance"])


def _create_orders(batch: Batch, actor: Actor, now) -> int:
    """The valid rows as NEW orders with their first event: three queries for any number of rows.

    ``send_requested_at`` is set at once, so that if this process dies before the sends are
    enqueued, the status sync finds the orders overdue and enqueues them itself.
    """
    orders = []
    # The books: each order's price from the price list, and the confirming user's open cash
    # session, locked as for any sale (the same rule as the counter and the admin's form).
    book = pricing.PriceBook()
    till = tills.attach(actor)
    for row in batch.rows:
        if not row["valid"]:
            continue
        row["order_ref"] = file_ref(row["ref"]) if row["ref"] else new_ref()
        # The price the preview showed (a file previewed before prices existed: the price now).
        price = Decimal(row["price"]) if row.get("price") else _quote(row, book).price
        orders.append(Order(
            ref=row["order_ref"], service=_service(row), line_type=row["line_type"],
            plan_code=row.get("plan_code", ""), number=row["number"], value=Decimal(row["value"]),
            cost=_cost(row), price=price, till=till, note=row["note"], created_by_id=actor.user_id,
            batch=batch,
            created_at=now, send_requested_at=now, next_check_at=now + SEND_OVERDUE,
        ))
    lifecycle.create_orders(orders, actor, note=Note(gettext_noop("Order created from the bulk file %(name)s"),
                                                             name=batch.file_name))
    Batch.objects.filter(pk=batch.pk).update(rows=batch.rows)
    return len(orders)
