"""Mobile top-ups ("flexy") beyond the counter: rows of a bulk file with the preview's rules, the
admin's add form, the reports and a till's close per service, the exports' service and plan."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import MobileOrderFactory, OrderFactory
from topups.lines.mobile import plans as mobile
from topups.models import ApiAccount, Batch, Order, OrderStatus
from topups.selectors import books
from topups.services import batches, lifecycle, tills
from topups.services.account import current_fingerprint
from topups.services.actors import SYNC, Actor

S = OrderStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(priced_shop, supervisor):
    assert mobile.sync_plans().ok
    ApiAccount.objects.filter(key_fingerprint=current_fingerprint()).update(balance=Decimal("100000"),
                                                                           balance_fetched_at=timezone.now())
    return priced_shop


def preview(supervisor, content: str) -> Batch:
    return batches.preview_batch(file_name="mix.csv", data=content.encode(), actor=Actor.user(supervisor))


MIXED = ("type,number,value,plan_code,ref\n"
         "ADSL,036362600,1000,,\n"
         "FLEXY,+213 771 23 45 67,1000,PREPAID_DJEZZY,\n"
         "FLEXY,0661234567,,PIXX_500,\n"
         "FLEXY,0661234567,1000,PREPAID_DJEZZY,\n"
         "FLEXY,0771234568,50,PREPAID_DJEZZY,\n"
         "FLEXY,0771234569,1000,,\n"
         "FLEXY,0661234560,5000,GROS_MOBILIS,\n"
         "FLEXY,0771234567,1000,PREPAID_DJEZZY,\n")


def test_bulk_rows_of_both_services_with_the_same_preview_rules(shop, supervisor):
    batch = preview(supervisor, MIXED)
    rows = {row["line"]: row for row in batch.rows}
    assert rows[2]["valid"] and rows[2]["service"] == "internet"
    djezzy = rows[3]
    assert djezzy["valid"] and (djezzy["service"], djezzy["number"], djezzy["value"], djezzy["cost"],
                                djezzy["price"]) == ("mobile", "0771234567", "1000", "992.50", "1012.50")
    assert rows[4]["valid"] and rows[4]["value"] == "500" and rows[4]["cost"] == "485.00"  # a fixed plan
    errors = {line: " ".join(str(e) for e in rows[line]["errors"]) for line in rows}
    assert "is a Mobilis number" in errors[5]
    assert "between 100 and 10000" in errors[6]
    assert "plan_code" in errors[7]  # missing
    assert rows[8]["valid"] and rows[8]["cost"] is None and rows[8]["warnings"][0][0] == "cost_unknown"
    assert ["duplicate", {"first": 3}] in rows[9]["errors"]  # same number and amount as row 3
    # Valid rows: the card 980, 992.50, 485 and the plan without a cost at its face value.
    assert batch.valid_count == 4 and batch.total_cost == Decimal("980") + Decimal("992.50") + 485 + 5000


def test_a_confirmed_bulk_file_creates_mobile_orders(shop, supervisor, client):
    batch = preview(supervisor, MIXED)
    client.force_login(supervisor)
    page = client.get(reverse("topups:batch", args=[batch.pk])).content.decode()
    assert "FLEXY" in page and "PREPAID_DJEZZY" in page
    tills.open_till(actor=Actor.user(supervisor), opening_cash="0")
    result = batches.confirm_batch(batch_id=batch.pk, actor=Actor.user(supervisor))
    assert result.created == 4
    flexy = Order.objects.filter(batch=batch, service="mobile").order_by("number", "value")
    assert [(o.plan_code, o.number, o.value, o.cost) for o in flexy] == [
        ("GROS_MOBILIS", "0661234560", Decimal(5000), None),
        ("PIXX_500", "0661234567", Decimal(500), Decimal("485.00")),
        ("PREPAID_DJEZZY", "0771234567", Decimal(1000), Decimal("992.50")),
    ]


def test_the_admin_adds_a_flexy_order_through_the_same_checks(shop, supervisor, client):
    client.force_login(supervisor)
    tills.open_till(actor=Actor.user(supervisor), opening_cash="0")
    url = reverse("admin:topups_order_add")
    management = {"events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0", "events-MIN_NUM_FORMS": "0",
                  "events-MAX_NUM_FORMS": "1000"}
    form = {"service": "mobile", "line_type": "", "plan_code": "PREPAID_DJEZZY", "number": "0661234567",
            "value": "1000", "note": "", **management}
    response = client.post(url, form)
    assert response.status_code == 200 and "is a Mobilis number" in response.content.decode()
    assert client.post(url, {**form, "number": "0771234567"}).status_code == 302
    order = Order.objects.get()
    assert (order.service, order.plan_code, order.number, order.price) == (
        "mobile", "PREPAID_DJEZZY", "0771234567", Decimal("1012.50"))


def sold(user, till=None, **fields) -> Order:
    return MobileOrderFactory(**{"cost": Decimal("992.50"), "price": Decimal("1012.50"), "status": S.FULFILLED,
                                 "created_by": user, "till": till, **fields})


def test_reports_and_the_close_split_per_service(shop, operator, supervisor, client):
    till = tills.open_till(actor=Actor.user(operator), opening_cash="0")
    sold(operator, till)
    lifecycle.move(sold(operator, till, status=S.HANDLING), S.REFUNDED, SYNC)  # handed back through the door
    sold(operator, till, plan_code="PIXX_500", number="0661234567", value=Decimal(500), cost=Decimal(485),
         price=Decimal(505))
    OrderFactory(cost=Decimal(980), price=Decimal(1000), status=S.FULFILLED, created_by=operator, till=till)
    today = timezone.localdate()
    by_service = {row.key[0]: row for row in books.report(start=today, end=today, group="service").rows}
    mobile_row, internet_row = by_service["mobile"], by_service["internet"]
    assert (mobile_row.label, mobile_row.orders, mobile_row.revenue, mobile_row.cost, mobile_row.refunds) == (
        "Mobile top-up", 3, Decimal("1517.50"), Decimal("1477.50"), Decimal("1012.50"))
    assert (internet_row.orders, internet_row.revenue) == (1, Decimal(1000))
    products = {row.label: row.orders for row in books.report(start=today, end=today, group="product").rows}
    assert products == {"Mobile top-up PREPAID_DJEZZY": 2, "Mobile top-up PIXX_500": 1, "ADSL 1000": 1}
    client.force_login(operator)
    page = client.get(reverse("topups:my_till")).content.decode()
    assert 'id="till-by-service"' in page and 'data-service="mobile"' in page
    split = {row.key[0]: row for row in books.till_by_service(till)}
    assert split["mobile"].taken == Decimal("2530.00") and split["mobile"].refunds == Decimal("1012.50")
    closed = tills.close_till(till_id=till.pk, counted_cash="2517.50", actor=Actor.user(operator))
    assert closed.expected_cash == Decimal("2517.50")  # 3,530 taken, 1,012.50 handed back
    receipt = client.get(reverse("topups:till", args=[till.pk]) + "?paper=80").content.decode()
    assert 'id="till-by-service"' in receipt and "Mobile top-up: taken (3 orders)" in receipt
    assert "Mobile top-up: handed back" in receipt and " − " not in receipt
    client.force_login(supervisor)
    assert client.get(reverse("topups:reports") + "?group=service").status_code == 200


def test_exports_carry_the_service_and_the_plan(shop, supervisor, client):
    sold(supervisor)
    client.force_login(supervisor)
    response = client.get(reverse("topups:order_export"))
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    header, row = lines[0].split(","), lines[1].split(",")
    assert header[2] == "Type" and header[-3:] == ["Service", "Plan", "Note"]
    assert row[2] == "" and row[-3:-1] == ["Mobile top-up", "PREPAID_DJEZZY"]  # the service as staff read it


def test_bulk_results_name_the_plan(shop, supervisor, client):
    batch = preview(supervisor, MIXED)
    batches.confirm_batch(batch_id=batch.pk, actor=Actor.user(supervisor))
    client.force_login(supervisor)
    response = client.get(reverse("topups:batch_results", args=[batch.pk]))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "plan_code" in body.splitlines()[0] and "PREPAID_DJEZZY" in body


def test_the_orders_list_finds_and_filters_mobile_top_ups(shop, supervisor, client):
    flexy = sold(supervisor)
    card = OrderFactory(created_by=supervisor)
    client.force_login(supervisor)
    for term in ("0771234567", "+213 771 23 45 67", "٠٧٧١٢٣٤٥٦٧"):
        orders = client.get(reverse("topups:orders"), {"q": term}).context["orders"]
        assert [o.pk for o in orders] == [flexy.pk], term
    page = client.get(reverse("topups:orders"), {"line_type": "mobile"})
    assert [o.pk for o in page.context["orders"]] == [flexy.pk]
    assert "PREPAID_DJEZZY" in page.content.decode()
    assert [o.pk for o in client.get(reverse("topups:orders"), {"line_type": "ADSL"}).context["orders"]] == [card.pk]


def test_the_admin_refreshes_the_mobile_plans_with_a_button(shop, supervisor, operator, client):
    shop.set_plan("PREPAID_DJEZZY", enabled=False)
    client.force_login(supervisor)
    listing = client.get(reverse("admin:topups_mobileplan_changelist")).content.decode()
    assert 'id="refresh-plans"' in listing and "Last refreshed" in listing
    response = client.post(reverse("admin:topups_mobileplan_refresh"), follow=True)
    assert "Mobile plans refreshed: 0 new, 13 updated, 0 no longer listed." in response.content.decode()
    assert not mobile.plans(operator="Djezzy")[-1].is_enabled  # disabled plans come last
    client.force_login(operator)
    assert client.post(reverse("admin:topups_mobileplan_refresh")).status_code == 302  # to the admin's login
