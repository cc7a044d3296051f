"""Exports open cleanly in Excel: the CSV has a BOM and keeps identifiers as text (an ADSL
number's leading 0, 12-digit codes), the XLSX (openpyxl) has text cells for them, numbers for
amounts, and never a formula; both go through the one orders export (audited, codes masked)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from topups.models import AuditEvent, Order, OrderStatus
from topups.services import orders
from topups.services.actors import Actor

pytestmark = pytest.mark.django_db
S = OrderStatus


@pytest.fixture
def exported(client, supervisor, operator):
    order, _ = orders.create_order(line_type="ADSL", number="036362608", value=Decimal(1000), actor=Actor.user(operator))
    Order.objects.filter(pk=order.pk).update(status=S.FULFILLED, card_code="012345678901", num_trans="000123",
                                             cost=Decimal("980.50"), note="=HYPERLINK(\"x\") ملاحظة")
    client.force_login(supervisor)
    return client


def test_the_csv_keeps_identifiers_as_text(exported):
    response = exported.get(reverse("topups:order_export"))
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Number"] == '="036362608"' and row["Card code"] == '="012345678901"'
    assert row["Transaction number"] == '="000123"'
    assert row["Note"].startswith("'=HYPERLINK") and row["Value"] == "1000.00"


def test_the_xlsx_export(exported):
    response = exported.get(reverse("topups:order_export"), {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    assert ".xlsx" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header = [c.value for c in sheet[1]]
    row = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
    assert row["Number"].value == "036362608" and row["Number"].data_type == "s" and row["Number"].number_format == "@"
    assert row["Card code"].value == "012345678901" and row["Card code"].data_type == "s"
    assert row["Value"].value == 1000 and row["Value"].data_type == "n"
    assert row["Cost"].value == pytest.approx(980.5)
    assert row["Note"].data_type == "s" and "ملاحظة" in row["Note"].value  # text, never a formula
    export = AuditEvent.objects.get(action="export")
    assert export.target == "orders.xlsx" and export.detail["rows"] == 1 and export.detail["format"] == "xlsx"
    assert AuditEvent.objects.filter(action="reveal_code", detail__via="orders.xlsx").count() == 1


def test_the_admin_exports_the_selected_orders_as_xlsx(client, operator, supervisor, make_user):
    order, _ = orders.create_order(line_type="ADSL", number="036362608", value=Decimal(1000),
                                   actor=Actor.user(make_user("owner", "Operators")))
    Order.objects.filter(pk=order.pk).update(status=S.FULFILLED, card_code="012345678901")
    client.force_login(supervisor)
    response = client.post(reverse("admin:topups_order_changelist"), {
        "action": "export_selected_xlsx", "_selected_action": [order.pk]})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert [c.value for c in sheet[2]][0] == order.ref
