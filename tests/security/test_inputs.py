"""Amounts and dates a person or a file gives, read by the one bounded parser (topups/inputs.py):
every value the third security round found turning into a 500 is now a clear message on its form,
a 400 with a message, or a row error in a bulk file; nothing stored, nothing sent."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import ProductFactory
from tests.flexy_fixtures import CHECK, errors_of, send
from topups import inputs
from topups.lines.internet import catalog
from topups.lines.mobile import plans as mobile
from topups.models import AuditEvent, Batch, LedgerFlag, LedgerRow, Order, PriceRule, Product, Till
from topups.services import tills
from topups.services.actors import Actor

pytestmark = pytest.mark.django_db
HUGE = ["1e15", "99999999999999999999", "1E+99999", "1E+999999999", "1e30"]


# The parser itself ------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("1050", Decimal("1050")), ("1050.50", Decimal("1050.50")), ("1 050,5", Decimal("1050.5")),
    ("١٠٥٠", Decimal("1050")), ("1E+3", Decimal("1000")), ("10.500", Decimal("10.50")), ("-0", Decimal("0")),
    ("99999999.99", Decimal("99999999.99")),
])
def test_amounts_people_type_are_read(raw, expected):
    amount = inputs.parse_amount(raw)
    assert amount == expected and str(amount) == str(expected)


@pytest.mark.parametrize(("raw", "code"), [
    *[(raw, "too_large") for raw in HUGE], ("100000000", "too_large"), ("1" * 500, "too_large"),
    ("NaN", "invalid"), ("Infinity", "invalid"), ("1e", "invalid"), ("abc", "invalid"), ("1,000.5", "invalid"),
    ("-1", "negative"), ("0.001", "decimals"), ("1E-999999999", "decimals"), ("x" * 500, "invalid"),
])
def test_bad_amounts_are_refused_before_they_are_expanded(raw, code):
    with pytest.raises(ValidationError) as caught:
        inputs.parse_amount(raw)
    assert caught.value.code == code


@pytest.mark.parametrize(("raw", "code"), [
    ("9999-12-31", "date_range"), ("0001-01-01", "date_range"), ("1999-12-31", "date_range"),
    ("2026-02-30", "invalid"), ("²", "invalid"), ("9" * 400, "invalid"),
])
def test_bad_days_are_refused(raw, code):
    with pytest.raises(ValidationError) as caught:
        inputs.parse_day(raw)
    assert caught.value.code == code


# The reported URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e30", "1E+999999999", "99999999999999999999"])
def test_flexy_check_answers_a_huge_amount_with_a_message(counter, client, amount):
    response = client.get(CHECK, {"number": "0771234567", "plan_code": "PREPAID_DJEZZY", "amount": amount})
    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is False and "cannot be more than 99,999,999.99 DA" in answer["message"]


@pytest.mark.parametrize("amount", ["1e30", "1E+99"])
def test_a_huge_flexy_amount_is_told_on_the_form_and_nothing_is_sent(counter, client, amount):
    response = send(client, "0771234567", "PREPAID_DJEZZY", amount)
    assert response.status_code == 400 and "cannot be more than" in errors_of(response)
    assert not Order.objects.exists()
    assert counter.stats()["total_debited"] == 0  # nothing reached the API


@pytest.fixture
def sup(client, supervisor):
    client.force_login(supervisor)
    return client


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_ledger_page_tells_a_day_out_of_range(sup, day):
    response = sup.get(reverse("topups:ledger"), {"date": day})
    assert response.status_code == 200
    assert "Enter a date between 2000 and 2100." in response.content.decode()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_ledger_export_refuses_a_day_out_of_range_whole(sup, day):
    response = sup.get(reverse("topups:ledger_export"), {"date": day})
    assert response.status_code == 400
    assert b"Enter a date between 2000 and 2100." in response.content
    assert not AuditEvent.objects.filter(action="export").exists()  # no export was made


ADMIN_LISTS = [
    ("admin:topups_order_changelist", "created_at"),
    ("admin:topups_batch_changelist", "created_at"),
    ("admin:topups_auditevent_changelist", "created_at"),
    ("admin:topups_ledgerrow_changelist", "time"),
    ("admin:topups_ledgerflag_changelist", "day"),
    ("admin:axes_accessattempt_changelist", "attempt_time"),
]


@pytest.fixture
def admin_rows(sim, supervisor):
    from axes.models import AccessAttempt

    row = LedgerRow.objects.create(api_id="a" * 24, type="ADSL", amount=Decimal(980),
                                   time="2026-05-01T10:00:00+01:00")
    LedgerFlag.objects.create(key="k", kind="debit_without_order", day="2026-05-01", row=row)
    AuditEvent.objects.create(action="export", actor_label="x")
    Batch.objects.create(file_name="a.csv", created_by=supervisor)
    AccessAttempt.objects.create(user_agent="ua", ip_address="10.0.0.1", username="x", http_accept="*/*",
                                 path_info="/login/", get_data="", post_data="", failures_since_start=1)


@pytest.mark.parametrize(("name", "field"), ADMIN_LISTS)
@pytest.mark.parametrize("query", ["{f}__year=0", "{f}__year=99999", "{f}__year=9999&{f}__month=12&{f}__day=31",
                                   "{f}__year=2026&{f}__month=13", "{f}__gte=9999-12-31", "{f}__lt=0001-01-01"])
def test_admin_date_lookups_out_of_range_are_dropped_with_a_message(client, make_user, admin_rows, name, field,
                                                                      query):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    url = reverse(name)
    response = client.get(f"{url}?{query.format(f=field)}")
    assert response.status_code == 302 and response["Location"].startswith(url)
    assert not any(bad in response["Location"] for bad in ("=0", "=99999", "=13", "9999-12-31", "0001-01-01"))
    page = client.get(response["Location"], follow=True)
    assert page.status_code == 200
    assert "Enter a date between 2000 and 2100." in page.content.decode()


def test_admin_date_lookups_within_range_still_filter(client, make_user, admin_rows):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    response = client.get(reverse("admin:topups_ledgerrow_changelist") + "?time__year=2026&time__month=5")
    assert response.status_code == 200 and response.context["cl"].result_count == 1


# The books --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cash", [*HUGE, "1E+99999"])
def test_a_huge_opening_cash_is_told_and_no_session_opens(client, operator, cash):
    client.force_login(operator)
    response = client.post(reverse("topups:my_till"), {"action": "open", "opening_cash": cash})
    assert response.status_code == 400 and "cannot be more than 99,999,999.99 DA" in response.content.decode()
    assert not Till.objects.exists()


@pytest.mark.parametrize("cash", HUGE)
def test_a_huge_counted_cash_is_told_and_the_session_stays_open(client, operator, cash):
    till = tills.open_till(actor=Actor.user(operator), opening_cash="0")
    client.force_login(operator)
    response = client.post(reverse("topups:my_till"), {"action": "close", "counted_cash": cash})
    assert response.status_code == 400 and "cannot be more than" in response.content.decode()
    till.refresh_from_db()
    assert till.status == "open" and till.counted_cash is None


@pytest.mark.parametrize("amount", HUGE)
def test_a_huge_price_is_told_and_nothing_is_saved(sim, client, supervisor, amount):
    assert catalog.sync_catalog().ok
    client.force_login(supervisor)
    response = client.post(reverse("topups:prices"), {"product": "", "mode": "fixed", "amount": amount,
                                                      "rounding": "0"})
    assert response.status_code == 400 and "cannot be more than" in response.content.decode()
    assert not PriceRule.objects.exists()


# Bulk files -------------------------------------------------------------------------------------


def upload(client, text: str):
    file = io.BytesIO(text.encode())
    file.name = "orders.csv"
    response = client.post(reverse("topups:batch_new"), {"file": file})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Batch.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def test_a_huge_bulk_value_is_a_row_error_and_stays_small(sim, sup):
    assert catalog.sync_catalog().ok and mobile.sync_plans().ok
    text = ("type,number,value,ref,note,plan_code\n"
            "ADSL,036362600,1E+999999,,,\n"
            "ADSL,036362601,1E+999999999,,,\n"
            "FLEXY,0771234567,1E+99,,,PREPAID_DJEZZY\n"
            "FLEXY,0771234568,1E+999999,,,PREPAID_DJEZZY\n")
    assert len(text) < 300
    batch = upload(sup, text)
    errors = [row["errors"] for row in batch.rows]
    assert [e[0][0] for e in errors] == ["bad_value", "bad_value", "mobile_refused", "mobile_refused"]
    assert "cannot be more than" in errors[2][0][1]["message"]
    assert batch.valid_count == 0
    stored = len(str(Batch.objects.filter(pk=batch.pk).values_list("rows", flat=True)[0]))
    assert stored < 5_000, stored  # was 20 MB: a million digits per row


def test_a_268_byte_file_does_not_become_megabytes_of_stored_rows(sim, sup):
    """The reported file: a value of 1E+999999 per row was expanded to a million digits each."""
    assert catalog.sync_catalog().ok
    text = "type,number,value\n" + "".join(f"ADSL,03636260{i},1E+999999\n" for i in range(10))
    assert len(text.encode()) < 300
    batch = upload(sup, text)
    assert {row["errors"][0][0] for row in batch.rows} == {"bad_value"}
    assert all(row["value"] == "" for row in batch.rows)
    stored = len(str(Batch.objects.filter(pk=batch.pk).values_list("rows", flat=True)[0]))
    assert stored < 10_000, stored


# Hand-made selections in the admin: the bounded integer "in" (topups/lookups.py) ---------------


def test_an_integer_in_lookup_with_values_no_column_holds_matches_nothing(sim, supervisor):
    product = ProductFactory()
    assert list(Product.objects.filter(pk__in=["99999999999999999999", "²", 10**30])) == []
    assert list(Product.objects.filter(pk__in=[str(product.pk), "²", 10**30])) == [product]


@pytest.fixture
def root(client, make_user):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("selected", ["99999999999999999999", "²"])
def test_an_admin_action_on_a_selection_that_is_no_row_acts_on_nothing(sim, root, selected):
    ProductFactory()
    response = root.post(reverse("admin:topups_product_changelist"),
                         {"action": "delete_selected", "_selected_action": [selected], "post": "yes"})
    assert response.status_code in (200, 302)
    assert Product.objects.count() == 1


def test_a_hand_made_many_to_many_choice_is_a_form_error(sim, root):
    response = root.post(reverse("admin:auth_group_add"), {"name": "Clerks", "permissions": ["99999999999999999999"]})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Group.objects.filter(name="Clerks").exists()
