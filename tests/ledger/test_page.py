"""Where people see the reconciliation: the day's page, the banner, resolving a flag, the CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from topups.models import AuditEvent, LedgerFlag, LedgerRow
from topups.services import reconcile

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.ledger_fixtures"]


@pytest.fixture
def flagged_day(books, sell, staff):
    books.set_balance(books.balance + 1000)
    sell(staff, "036362600")
    sell(staff, "036362690")  # refunded
    books.place_elsewhere(value=500)
    reconcile.run(backfill_days=1)
    return timezone.localdate()


def test_day_page_shows_totals_balances_and_flags(client, supervisor, flagged_day, books):
    client.force_login(supervisor)
    response = client.get(reverse("topups:ledger"), {"date": flagged_day.isoformat()})
    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary.by_state["matched"] == 3 and summary.by_state["flagged"] == 1
    assert summary.closing == books.balance
    assert summary.difference == -490  # the order made elsewhere: not in our books
    assert [entry["type"] for entry in summary.by_type] == ["ADSL", "DEPOSIT", "REFUND-ADSL"]
    body = response.content.decode()
    assert "Debit with no order" in body and 'id="ledger-banner"' in body


def test_banner_on_the_dashboard_while_flags_are_open(client, supervisor, operator, flagged_day):
    client.force_login(operator)
    assert 'id="ledger-banner"' not in client.get(reverse("topups:home")).content.decode()
    client.force_login(supervisor)
    home = client.get(reverse("topups:home")).content.decode()
    assert 'id="ledger-banner"' in home and "1 open flag" in home
    LedgerFlag.objects.update(resolved_at=timezone.now(), resolution="done")
    assert 'id="ledger-banner"' not in client.get(reverse("topups:home")).content.decode()


def test_resolve_with_a_note_is_audited_and_without_one_refused(client, supervisor, flagged_day):
    client.force_login(supervisor)
    flag = LedgerFlag.objects.get()
    url = reverse("topups:ledger_resolve", kwargs={"pk": flag.pk})
    response = client.post(url, {"note": "   "})
    assert response.status_code == 302 and LedgerFlag.objects.get().is_open
    response = client.post(url, {"note": "Order sent from the old till by Karim"})
    assert response.status_code == 302 and f"date={flagged_day.isoformat()}" in response["Location"]
    flag.refresh_from_db()
    assert not flag.is_open and flag.resolved_by == supervisor
    assert AuditEvent.objects.filter(action="resolve_ledger_flag", actor=supervisor, target=flag.key).exists()
    assert client.post(url, {"note": "again"}).status_code == 302
    assert AuditEvent.objects.filter(action="resolve_ledger_flag").count() == 1


def test_export_goes_through_the_one_export_path(client, supervisor, flagged_day):
    client.force_login(supervisor)
    response = client.get(reverse("topups:ledger_export"), {"date": flagged_day.isoformat()})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Time", "Type", "Operation"] and len(rows) == 1 + LedgerRow.objects.count()
    flagged = [r for r in rows if r[9] == "Debit with no order"]  # the kind as staff read it
    assert len(flagged) == 1 and flagged[0][8] == "Flagged"
    assert AuditEvent.objects.filter(action="export", target="ledger.csv").exists()


def test_page_queries_do_not_grow_with_the_day(client, supervisor, books, sell, staff):
    client.force_login(supervisor)
    for index in range(3):
        sell(staff, f"0363626{index:02d}", 500)
        books.place_elsewhere(value=500, number=f"0360000{index:02d}")
    reconcile.run(backfill_days=1)
    client.get(reverse("topups:ledger"))  # the session is saved once after the login
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("topups:ledger")).status_code == 200
    for index in range(3, 40):
        sell(staff, f"0363626{index:02d}", 500)
        books.place_elsewhere(value=500, number=f"0360000{index:02d}")
    reconcile.run()
    with CaptureQueriesContext(connection) as large:
        assert client.get(reverse("topups:ledger")).status_code == 200
    assert LedgerFlag.objects.count() == 40
    assert len(large) == len(small)


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_page_in_french_and_arabic(client, supervisor, flagged_day, language):
    client.force_login(supervisor)
    client.cookies["django_language"] = language
    body = client.get(reverse("topups:ledger"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert {"fr": "Rapprochement", "ar": "المطابقة"}[language] in body
