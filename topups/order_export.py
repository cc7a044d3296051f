"""Orders as a CSV or XLSX download: one set of columns and one writer for every export of orders (the
dashboard's filtered list, the admin's selected orders) and for the order columns of a bulk
file's results.

Rows are read as named values (``selectors.order_export_rows``), every card code goes through the
audited door (``audit.show_codes_streamed``, one INSERT per chunk), every export writes its
*export* audit row, and the cells go through ``csv_export`` (formulas neutralised, BOM).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy as _

from topups import lines, selectors
from topups.csv_export import Text, local_iso, table_response
from topups.models import Order, OrderStatus
from topups.notes import refusal_reason
from topups.services import audit
from topups.services.actors import Actor

# name -> (header, cell from the order's values and its card code as shown)
COLUMNS: dict[str, tuple[str, Callable[[dict, str], object]]] = {
    "ref": (_("Reference"), lambda o, code: Text(o["ref"] or "")),
    "created_at": (_("Created at"), lambda o, code: local_iso(o["created_at"])),
    "service": (_("Service"), lambda o, code: _line_label(o["service"])),
    "line_type": (_("Type"), lambda o, code: o["line_type"]),
    "plan_code": (_("Plan"), lambda o, code: o["plan_code"]),
    "number": (_("Number"), lambda o, code: Text(o["number"] or "")),
    "value": (_("Value"), lambda o, code: o["value"]),
    "cost": (_("Cost"), lambda o, code: "" if o["cost"] is None else o["cost"]),
    "status_label": (_("Status"), lambda o, code: str(OrderStatus(o["status"]).label)),
    "refusal_code": (_("Refusal code"), lambda o, code: o["refusal_code"]),
    "reason": (_("Reason"), lambda o, code: refusal_reason(o["refusal_code"]) if o["refusal_code"] else ""),
    "topup_id": (_("Top-up id"), lambda o, code: Text(o["topup_id"] or "")),
    "num_trans": (_("Transaction number"), lambda o, code: Text(o["num_trans"] or "")),
    "card_code": (_("Card code"), lambda o, code: Text(_code_cell(o["service"], code))),
    "processed_at": (_("Processed at"), lambda o, code: local_iso(o["processed_at"])),
    "staff": (_("Staff"), lambda o, code: o["created_by__username"] or ""),
    "note": (_("Note"), lambda o, code: o["note"]),
}
# The service and the plan come after the columns files always had (the note stays last).
ORDERS_CSV = ("ref", "created_at", "line_type", "number", "value", "cost", "status_label", "refusal_code", "topup_id",
              "num_trans", "card_code", "processed_at", "staff", "service", "plan_code", "note")
# What a bulk file's results say of each row's order, after the row's own cells.
BATCH_RESULT_COLUMNS = ("ref", "status_label", "reason", "num_trans", "card_code")


def _line_label(code: str) -> str:
    line = lines.find(code) if code else None
    return str(line.label) if line else code


def _code_cell(service: str, code: str) -> str:
    """The card code as shown, on one line as its product line writes it (a gift order's cards)."""
    line = lines.find(service) if service else None
    return line.code_cell(code or "") if line else (code or "")


def headers(columns) -> list[str]:
    return [str(COLUMNS[name][0]) for name in columns]


def cells(columns, order: dict, code: str) -> list:
    return [COLUMNS[name][1](order, code) for name in columns]


def code_key(order: dict | None) -> tuple[str, str, int | None]:
    """What ``audit.show_codes_streamed`` needs of an order's values: (ref, card code, creator)."""
    return (order["ref"], order["card_code"], order["created_by_id"]) if order else ("", "", None)


def export_orders(request, orders: QuerySet[Order], *, via: str, target: str, detail: dict | None = None,
                  file_format: str = "csv") -> StreamingHttpResponse:
    """``orders`` (in their order) as ``orders-<time>.csv`` (streamed) or ``.xlsx``, after one
    *export* audit row (``target``, ``detail`` with the row count and whether codes are shown in full)."""
    user = request.user
    audit.record(actor=Actor.user(user), action="export", target=target, request=request, detail={
        **(detail or {}), "format": file_format, "rows": orders.count(), "full_codes": user.has_perm("topups.view_card_code")})
    shown = audit.show_codes_streamed(request, selectors.order_export_rows(orders), via=via, key=code_key)
    rows = (cells(ORDERS_CSV, order, code) for order, code in shown)
    return table_response(headers(ORDERS_CSV), rows, "orders", file_format)
