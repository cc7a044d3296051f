"""Bulk orders from a CSV file: bad files, the preview's checks, confirm once, progress, results."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from topups.csv_import import MAX_ROWS, CsvImportError, parse_csv
from topups.keys import file_ref
from topups.lines.internet import catalog
from topups.models import ApiAccount, Batch, BatchStatus, Order, OrderEvent, OrderStatus, Product
from topups.services import batches, orders, sync
from topups.services.account import current_fingerprint
from topups.services.actors import Actor

S = OrderStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(sim):
    assert catalog.sync_catalog().ok
    ApiAccount.objects.filter(key_fingerprint=current_fingerprint()).update(balance=Decimal("100000"),
                                                                           balance_fetched_at=timezone.now())
    return sim


@pytest.fixture
def sup_client(client, supervisor):
    client.force_login(supervisor)
    return client


def upload(client, content: bytes | str, name: str = "orders.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    file = io.BytesIO(data)
    file.name = name
    return client.post(reverse("topups:batch_new"), {"file": file})


def uploaded_batch(client, content) -> Batch:
    response = upload(client, content)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Batch.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


GOOD = "type,number,value,ref,note\nADSL,036362600,1000,,shop A\n4G,0665 98 34 01,1500,,\n"


# Bad files: a clear message, nothing created ----------------------------------------------------

BAD_FILES = [
    ("binary junk", bytes(range(256)) * 4, "binary data"),
    ("binary without NUL", b"\x01\x02\x03type,number\x1b", "binary data"),
    ("xlsx", b"PK\x03\x04" + b"\x00" * 100, "Excel workbook"),
    ("utf-16", "type,number,value\n".encode("utf-16"), "UTF-16"),
    ("undecodable", b"type,number,value,note\nADSL,036362600,1000," + bytes([0xa4, 0xa6, 0xa7, 0xa9, 0xac, 0xae, 0xb1, 0xb5]) * 3,
     "encoding could not be recognised"),
    ("empty", b"", "empty"),
    ("blank lines", b"\r\n\r\n  \r\n", "empty"),
    ("BOM only", b"\xef\xbb\xbf", "empty"),
    ("header only", b"type,number,value\r\n", "header row but no orders"),
    ("missing column", b"type,number\nADSL,036362600\n", "Missing column: value"),
    ("renamed columns", b"line type;phone;amount\nADSL;036362600;1000\n", "Missing columns: type, number, value"),
    ("duplicate column", b"type,number,value,value\nADSL,036362600,1000,1000\n", "appears twice"),
    ("over the row cap", ("type,number,value\n" + "ADSL,036362600,1000\n" * (MAX_ROWS + 1)).encode(), "limit is 5000"),
    ("over the size cap", b"type,number,value,note\n" + b"ADSL,036362600,1000," + b"x" * (1024 * 1024) + b"\n",
     "too large"),
]


@pytest.mark.parametrize(("label", "content", "message"), BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_bad_files_are_refused_with_a_clear_message(sup_client, synced, label, content, message):
    response = upload(sup_client, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Batch.objects.exists() and not Order.objects.exists()


def test_formulas_in_cells_are_flagged_and_never_sent(sup_client, synced):
    content = ("type,number,value,ref,note\n"
               "=cmd|' /C calc'!A0,036362600,1000,,\n"
               "ADSL,=1+1,1000,,\n"
               "ADSL,036362601,@SUM(A1),,\n"
               "ADSL,036362603,1000,-2+3,\n")
    batch = uploaded_batch(sup_client, content)
    assert batch.row_count == 4 and batch.valid_count == 0
    assert all(any(code == "formula" for code, _ in row["errors"]) for row in batch.rows)
    page = sup_client.get(reverse("topups:batch", args=[batch.pk])).content.decode()
    assert "starts like a spreadsheet formula" in page and "No row can be sent" in page
    assert 'action="' + reverse("topups:batch_confirm", args=[batch.pk]) not in page
    sup_client.post(reverse("topups:batch_confirm", args=[batch.pk]))
    assert not Order.objects.exists()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PREVIEWED


def test_a_note_is_kept_as_typed_and_neutralised_on_export(sup_client, synced):
    """A note is free text ("+ 2 cards", "-50 DA off", even "=..."): the row is not refused; every
    export writes it so that no spreadsheet runs it."""
    content = ("type,number,value,ref,note\n"
               "ADSL,036362602,1000,,=HYPERLINK(\"http://x\")\n"
               "ADSL,036362603,1000,,+ 2 cartes\n"
               "ADSL,036362604,1000,,−50 DA de remise\n")
    batch = uploaded_batch(sup_client, content)
    assert batch.valid_count == 3
    sup_client.post(reverse("topups:batch_confirm", args=[batch.pk]))
    assert sorted(Order.objects.values_list("note", flat=True)) == sorted(
        ['=HYPERLINK("http://x")', "+ 2 cartes", "−50 DA de remise"])
    cells = [cell for row in read_csv(sup_client.get(reverse("topups:batch_results", args=[batch.pk])))
             for cell in row]
    assert "'=HYPERLINK(\"http://x\")" in cells and "'+ 2 cartes" in cells
    assert not any(cell.startswith(("=HYPERLINK", "+ 2")) for cell in cells)


def test_plus_and_separators_in_numbers_are_not_formulas(synced):
    rows = parse_csv(b"type;number;value\n4G;+213 665-98-34-39;1 500\n").rows
    checked = batches.check_rows(rows)
    assert checked.rows[0]["errors"] == [] and checked.rows[0]["number"] == "213665983439"
    assert checked.rows[0]["value"] == "1500"


# Reading the file ------------------------------------------------------------------------------


def test_semicolons_bom_and_french_decimal_comma(sup_client, synced):
    content = "\ufeffType;Number;Value;Note\r\nADSL;036362600;1000,00;Société Générale\r\n".encode()
    batch = uploaded_batch(sup_client, content)
    assert batch.encoding == "utf-8" and batch.valid_count == 1
    assert batch.rows[0]["value"] == "1000" and batch.rows[0]["note"] == "Société Générale"


def test_windows_arabic_file_is_read_and_says_so(sup_client, synced):
    content = "type,number,value,note\nADSL,036362600,1000,شركة الأمل\n".encode("cp1256")
    batch = uploaded_batch(sup_client, content)
    assert batch.encoding == "cp1256" and batch.rows[0]["note"] == "شركة الأمل"
    page = sup_client.get(reverse("topups:batch", args=[batch.pk])).content.decode()
    assert "Windows-1256" in page
    # Once confirmed, the notice about reading the file has done its work.
    sup_client.post(reverse("topups:batch_confirm", args=[batch.pk]))
    page = sup_client.get(reverse("topups:batch", args=[batch.pk])).content.decode()
    assert "Confirmed" in page and "Windows-1256" not in page


def test_windows_french_file_is_read_as_cp1252():
    parsed = parse_csv("type;number;value;note\nADSL;036362600;1000;Crédit « été » œuvre\n".encode("cp1252"))
    assert parsed.encoding == "cp1252" and parsed.rows[0]["note"] == "Crédit « été » œuvre"


def test_unknown_columns_are_ignored_with_a_warning(sup_client, synced):
    batch = uploaded_batch(sup_client, "type,number,value,customer\nADSL,036362600,1000,Ali\n")
    assert batch.valid_count == 1
    assert "customer" in sup_client.get(reverse("topups:batch", args=[batch.pk])).content.decode()


def test_csv_error_is_a_clear_message():
    with pytest.raises(CsvImportError):
        parse_csv(b"type,number,value\n" + b'"' + b"x" * 200_000 + b'"\n')


# Preview ------------------------------------------------------------------------------------------


def test_preview_lists_every_problem(sup_client, supervisor, synced):
    # An earlier file's row labelled OC-TAKEN-01 made this order (file refs are keyed, keys.file_ref).
    previous = orders.create_order(line_type="ADSL", number="036362609", value=Decimal(1000),
                                   actor=Actor.user(supervisor), ref=file_ref("OC-TAKEN-01"))[0]
    content = ("type,number,value,ref,note\n"
               "ADSL,036362600,1000,,ok\n"  # 2 valid
               "ADSL,12ab,1000,,\n"  # 3 malformed number
               "ADSL,036362601,750,,\n"  # 4 unknown value
               "ADSL,036362602,5000,,\n"  # 5 out of stock
               "ADSL,036362600,1000,,\n"  # 6 duplicate of row 2
               "ADSL,036362603,1000,OC-TAKEN-01,\n"  # 7 ref used
               "Fibre,036362604,1000,,\n"  # 8 unknown type
               "ADSL,,1000\n"  # 9 missing number
               "ADSL,036362609,1000,,\n"  # 10 same number and value today: warning only
               "ADSL,036362605,abc,,\n"  # 11 bad value
               "ADSL,036362606,1000,OC-SAME-REF,\n"
               "ADSL,036362607,1000,OC-SAME-REF,\n"  # 13 duplicate ref
               "ADSL,036362608,1000,,a,b\n")  # 14 too many cells
    batch = uploaded_batch(sup_client, content)
    codes = {row["line"]: [code for code, _ in row["errors"]] for row in batch.rows}
    assert codes == {2: [], 3: ["bad_number"], 4: ["unknown_value"], 5: ["out_of_stock"], 6: ["duplicate"],
                     7: ["ref_used"], 8: ["bad_type"], 9: ["missing"], 10: [], 11: ["bad_value"], 12: [],
                     13: ["duplicate_ref"], 14: ["long"]}
    assert batch.rows[8]["warnings"][0][0] == "recent" and previous.ref in batch.rows[8]["warnings"][0][1]["refs"]
    assert batch.row_count == 13 and batch.valid_count == 3 and batch.invalid_count == 10
    assert batch.total_cost == 3 * Decimal("980")
    page = sup_client.get(reverse("topups:batch", args=[batch.pk])).content.decode()
    for text in ("9 digits starting with 0", "no 750 DA card", "out of stock", "Same line and value as row 2",
                 "already used by an existing order", "Unknown line type", "The number is missing",
                 "already ordered with this value", "not a number", "also used by row 12", "more cells"):
        assert text in page, text
    assert Order.objects.count() == 1  # only the one made above


def test_preview_makes_no_api_call_and_constant_queries(sup_client, synced, django_assert_max_num_queries):
    calls = dict(synced.stats()["calls"])
    small = "type,number,value,ref\n" + "".join(f"ADSL,0363626{i:02d},1000,OC-REF-{i:04d}\n" for i in range(10))
    large = "type,number,value,ref\n" + "".join(f"ADSL,03636{i:04d},1000,OC-REF-{i:04d}\n" for i in range(2000))
    for content in (small, large):
        parsed = parse_csv(content.encode())
        with django_assert_max_num_queries(6):  # 5, and the price rules for the prices shown
            batches.preview_batch(file_name="x.csv", data=content.encode(), actor=Actor("t"))
        assert len(parsed.rows) in (10, 2000)
    assert synced.stats()["calls"] == calls


def test_balance_that_does_not_cover_blocks_confirm(sup_client, synced):
    ApiAccount.objects.filter(key_fingerprint=current_fingerprint()).update(balance=Decimal("1500"))
    batch = uploaded_batch(sup_client, "type,number,value\nADSL,036362600,1000\nADSL,036362601,1000\n")
    page = sup_client.get(reverse("topups:batch", args=[batch.pk])).content.decode()
    assert "does not cover the valid rows" in page and "1,960.00" in page
    sup_client.post(reverse("topups:batch_confirm", args=[batch.pk]))
    assert not Order.objects.exists()


# Confirm ------------------------------------------------------------------------------------------


def test_confirm_twice_creates_the_orders_once_and_sends_them(sup_client, supervisor, synced):
    batch = uploaded_batch(sup_client, GOOD + "ADSL,bad,1000,,\n")
    url = reverse("topups:batch_confirm", args=[batch.pk])
    first = sup_client.post(url)
    second = sup_client.post(url)
    assert first.status_code == second.status_code == 302
    assert Order.objects.count() == 2
    assert set(Order.objects.values_list("batch_id", flat=True)) == {batch.pk}
    assert OrderEvent.objects.filter(to_status=S.NEW, from_status="").count() == 2
    # Sent through the same service as single orders: number check, then the POST (tasks run inline here).
    assert set(Order.objects.values_list("status", flat=True)) == {S.HANDLING}
    assert all(synced.stats()["refs"][o.ref] == {"orders": 1, "attempts": 1} for o in Order.objects.all())
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CONFIRMED and batch.confirmed_by == supervisor
    messages = [str(m) for m in sup_client.get(reverse("topups:batch", args=[batch.pk])).context["messages"]]
    assert any("already confirmed" in m for m in messages)


def test_confirm_query_count_is_constant(supervisor, synced, monkeypatch):
    """Constant apart from the bulk INSERTs, which SQLite splits by its 999-parameter limit (one
    statement per 500 rows on PostgreSQL); the enqueued tasks are left out (one per chunk)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    counts = []
    for size in (5, 150):
        content = "type,number,value\n" + "".join(f"ADSL,036{size % 100:02d}{i:04d},500\n" for i in range(size))
        batch = batches.preview_batch(file_name="x.csv", data=content.encode(), actor=Actor.user(supervisor))
        with CaptureQueriesContext(connection) as queries:
            assert batches.confirm_batch(batch_id=batch.pk, actor=Actor.user(supervisor)).created == size
        sql = [q["sql"] for q in queries.captured_queries if "django_q" not in q["sql"]]
        counts.append(len([q for q in sql if not q.startswith("INSERT INTO")]))
        assert len([q for q in sql if q.startswith("INSERT INTO")]) <= 2 + 2 * (size // 30 + 1)
    assert counts[0] == counts[1], counts


def test_confirm_refuses_when_the_rows_changed_since_the_preview(sup_client, supervisor, synced):
    batch = uploaded_batch(sup_client, "type,number,value\nADSL,036362600,1000\n")
    Product.objects.filter(line_type="ADSL", value=1000).update(available=False)
    result = batches.confirm_batch(batch_id=batch.pk, actor=Actor.user(supervisor))
    assert result.changed and not Order.objects.exists()
    batch.refresh_from_db()
    assert batch.valid_count == 0 and batch.rows[0]["errors"][0][0] == "out_of_stock"


def test_a_second_upload_of_the_same_file_warns_at_confirm(sup_client, supervisor, synced):
    first = uploaded_batch(sup_client, GOOD)
    second = uploaded_batch(sup_client, GOOD)
    assert batches.confirm_batch(batch_id=first.pk, actor=Actor.user(supervisor)).created == 2
    result = batches.confirm_batch(batch_id=second.pk, actor=Actor.user(supervisor))
    assert result.changed and Order.objects.count() == 2
    page = sup_client.get(reverse("topups:batch", args=[second.pk])).content.decode()
    assert "already ordered with this value" in page


# Progress and results -------------------------------------------------------------------------------


def test_progress_endpoint_and_result_csv(client, sup_client, supervisor, make_user, synced):
    content = ("type,number,value,ref,note\n"
               "ADSL,036362600,1000,,=HYPERLINK(\"x\")\n"
               "ADSL,036362699,1000,,line that does not exist\n"
               "ADSL,=2+2,1000,,\n")
    batch = uploaded_batch(sup_client, content)
    sup_client.post(reverse("topups:batch_confirm", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.valid_count == 2  # the number formula is a refused row; a note is kept as typed
    content = "type,number,value,ref,note\nADSL,036362600,1000,,\nADSL,036362699,1000,,\nADSL,=2+2,1000,,\n"
    batch = uploaded_batch(sup_client, content.replace("036362600", "036362610"))
    sup_client.post(reverse("topups:batch_confirm", args=[batch.pk]))
    status = sup_client.get(reverse("topups:batch_status", args=[batch.pk])).json()
    counts = {c["status"]: c["count"] for c in status["counts"]}
    assert status["total"] == 2 and counts["refused"] == 1 and counts["handling"] == 1 and not status["done"]
    assert status["failures"][0]["number"] == "036362699" and status["failures"][0]["reason"]
    synced.advance(5)
    sync.refresh_orders(list(Order.objects.filter(batch=batch)), actor=Actor("test"))
    status = sup_client.get(reverse("topups:batch_status", args=[batch.pk])).json()
    assert status["done"] and status["final"] == 2
    page = sup_client.get(reverse("topups:batch", args=[batch.pk])).content.decode()
    assert "Download the results" in page and "data-batch-poll" not in page

    fulfilled = Order.objects.get(batch=batch, status=S.FULFILLED)
    Order.objects.filter(pk=fulfilled.pk).update(num_trans="=cmd|' /C calc'!A0")
    rows = read_csv(sup_client.get(reverse("topups:batch_results", args=[batch.pk])))
    assert rows[0][:3] == ["Row", "type", "number"] and len(rows) == 4
    by_number = {r[2]: r for r in rows[1:]}
    # Identifiers are written as Excel's text form (="…") so the leading 0 and long codes survive.
    sent, refused = by_number['="036362610"'], by_number['="036362699"']
    assert sent[7] == "Fulfilled" and sent[10] == f'="{fulfilled.card_code}"'
    assert sent[9] == "'=cmd|' /C calc'!A0"
    assert refused[7] == "Refused" and refused[8]
    assert by_number["'=2+2"][7] == "Not sent" and "formula" in by_number["'=2+2"][8]

    # Someone with the permission but not the code permission, and not the uploader: masked code.
    clerk = make_user("clerk", "Operators")
    clerk.user_permissions.add(Permission.objects.get(codename="bulk_order"))
    client.force_login(clerk)
    rows = read_csv(client.get(reverse("topups:batch_results", args=[batch.pk])))
    code = {r[2]: r for r in rows[1:]}['="036362610"'][10]
    assert code != fulfilled.card_code and code.endswith(fulfilled.card_code[-4:])


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_template_download_is_a_valid_file(sup_client, synced):
    response = sup_client.get(reverse("topups:batch_template"))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    parsed = parse_csv(response.content)
    assert [r["type"] for r in parsed.rows] == ["ADSL", "4G", "FLEXY"]
    assert batches.check_rows(parsed.rows).valid_count == 3


def test_batch_list_shows_uploader_and_time(sup_client, synced):
    batch = uploaded_batch(sup_client, GOOD)
    html = sup_client.get(reverse("topups:batches")).content.decode()
    assert "orders.csv" in html and "sam" in html and reverse("topups:batch", args=[batch.pk]) in html


def test_navigation_link_only_with_the_permission(client, sup_client, operator):
    assert reverse("topups:batches") in sup_client.get(reverse("topups:home")).content.decode()
    client.force_login(operator)
    assert reverse("topups:batches") not in client.get(reverse("topups:home")).content.decode()


def test_templates_have_no_inline_script_or_style():
    from pathlib import Path

    for path in (Path(__file__).resolve().parents[2] / "templates/topups/batches").glob("*.html"):
        text = path.read_text()
        assert "<script>" not in text and "<style" not in text and "style=" not in text, path


# Permissions ------------------------------------------------------------------------------------------

PAGES = [("get", "topups:batches", False), ("get", "topups:batch_new", False), ("post", "topups:batch_new", False),
         ("get", "topups:batch_template", False), ("get", "topups:batch", True), ("post", "topups:batch_confirm", True),
         ("get", "topups:batch_status", True), ("get", "topups:batch_results", True)]


@pytest.mark.parametrize(("method", "name", "with_pk"), PAGES)
def test_anonymous_goes_to_login_and_operator_gets_403(client, operator, supervisor, method, name, with_pk):
    batch = batches.preview_batch(file_name="x.csv", data=GOOD.encode(), actor=Actor.user(supervisor))
    url = reverse(name, args=[batch.pk] if with_pk else [])
    response = getattr(client, method)(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(operator)
    assert getattr(client, method)(url).status_code == 403
    assert not Order.objects.exists()


# Admin ----------------------------------------------------------------------------------------------


def test_admin_lists_batches_links_orders_and_exports_csv(sup_client, supervisor, synced):
    batch = uploaded_batch(sup_client, GOOD)
    sup_client.post(reverse("topups:batch_confirm", args=[batch.pk]))
    html = sup_client.get(reverse("admin:topups_batch_changelist")).content.decode()
    assert "orders.csv" in html and f"batch__id__exact={batch.pk}" in html
    listing = sup_client.get(reverse("admin:topups_order_changelist") + f"?batch__id__exact={batch.pk}")
    assert listing.status_code == 200 and listing.context["cl"].result_count == 2
    assert sup_client.get(reverse("admin:topups_batch_add"))["Location"] == reverse("topups:batch_new")

    Order.objects.filter(batch=batch).update(note="=HYPERLINK(\"x\")", card_code="123456789012")
    response = sup_client.post(reverse("admin:topups_order_changelist"), {
        "action": "export_selected_csv", "_selected_action": list(Order.objects.values_list("pk", flat=True)),
    })
    rows = read_csv(response)
    assert rows[0][0] == "Reference" and len(rows) == 3
    assert rows[1][-1] == "'=HYPERLINK(\"x\")" and rows[1][10] == '="123456789012"'


def test_admin_export_needs_the_export_permission(client, make_user, operator):
    orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000), actor=Actor.user(operator))
    clerk = make_user("clerk", "Operators", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(clerk)
    page = client.get(reverse("admin:topups_order_changelist")).content.decode()
    assert "export_selected_csv" not in page


def test_second_batch_confirmed_back_to_back_counts_the_first_ones_money(sup_client, synced, monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)  # the first batch's orders wait in the queue, unsent
    ApiAccount.objects.filter(key_fingerprint=current_fingerprint()).update(balance=Decimal("1500"))
    first = uploaded_batch(sup_client, "type,number,value\nADSL,036362600,1000\n")
    second = uploaded_batch(sup_client, "type,number,value\nADSL,036362601,1000\n")
    sup_client.post(reverse("topups:batch_confirm", args=[first.pk]))
    assert Order.objects.filter(batch=first, status=S.NEW, send_requested_at__isnull=False).count() == 1
    sup_client.post(reverse("topups:batch_confirm", args=[second.pk]))
    second.refresh_from_db()
    assert second.status == BatchStatus.PREVIEWED and not Order.objects.filter(batch=second).exists()
    assert second.balance == Decimal("520")  # 1,500 fetched, 980 committed to the first batch


def test_confirm_fetches_a_stale_balance_first(sup_client, synced):
    synced.set_balance(1500)  # what the API holds now
    batch = uploaded_batch(sup_client, "type,number,value\nADSL,036362600,1000\nADSL,036362601,1000\n")
    old = timezone.now() - timedelta(hours=1)
    ApiAccount.objects.filter(key_fingerprint=current_fingerprint()).update(balance_fetched_at=old)
    sup_client.post(reverse("topups:batch_confirm", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PREVIEWED and batch.balance == Decimal("1500")
    assert not Order.objects.exists()


def test_a_balance_that_cannot_be_refreshed_is_not_trusted_silently(sup_client, synced):
    """Issue 20, point 7: the API's balance call fails and the cached figure is two days old: the
    confirmation refuses, naming the figure's age, until the supervisor accepts deciding on it."""
    batch = uploaded_batch(sup_client, "type,number,value\nADSL,036362600,1000\n")
    ApiAccount.objects.filter(key_fingerprint=current_fingerprint()).update(
        balance_fetched_at=timezone.now() - timedelta(days=2))
    synced.inject_fault("balance", "unavailable", count=5)
    response = sup_client.post(reverse("topups:batch_confirm", args=[batch.pk]), follow=True)
    shown = [m.message for m in response.context["messages"]]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PREVIEWED and not Order.objects.exists()
    assert any("could not be refreshed" in text and "2\xa0days" in text and "100,000.00" in text
               for text in shown), shown
    assert 'name="accept_stale_balance"' in response.content.decode()
    sup_client.post(reverse("topups:batch_confirm", args=[batch.pk]), {"accept_stale_balance": "1"})
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CONFIRMED and Order.objects.filter(batch=batch).count() == 1
