"""The counter's mobile top-ups ("flexy") through the test client and the simulator over HTTP: the
service tabs, the operator recognised from the number, the plans of that operator, the cost and the
selling price, each bad input told before anything is sent, the order page and the receipt as a
confirmation, the uncertain outcome, and a suggested offer sent with one click."""

from __future__ import annotations

import pytest

from tests.factories import MobileOrderFactory
from tests.flexy_fixtures import CHECK, NEW, errors_of, form_ref, send
from topups.lines.mobile import plans as mobile
from topups.models import Order, OrderStatus

S = OrderStatus
pytestmark = pytest.mark.django_db
def test_one_screen_two_services(counter, client):
    internet = client.get(NEW).content.decode()
    assert 'id="new-order"' in internet and 'id="flexy-order"' not in internet
    assert 'href="/orders/new/mobile/"' in internet
    page = client.get(NEW + "?service=mobile").content.decode()
    assert 'id="flexy-order"' in page and 'id="new-order"' not in page
    for network in ("Mobilis", "Djezzy", "Ooredoo"):
        assert f'<optgroup label="{network}"' in page
    assert "PREPAID_DJEZZY" in page and "100 DA to 10,000 DA" in page  # the plan's range beside it
    assert "<script>" not in page


def test_the_operator_and_its_plans_as_typed(counter, client):
    answer = client.get(CHECK, {"number": "077"}).json()
    assert answer["operator"] == "Djezzy" and not answer["ok"]
    assert client.get(CHECK, {"number": "+213 5"}).json()["operator"] == "Ooredoo"
    assert client.get(CHECK, {"number": "٠٦٦"}).json()["operator"] == "Mobilis"
    assert client.get(CHECK, {"number": ""}).json()["operator"] == ""
    # Without a script: "Show plans and price" gives the form back with only the number's plans.
    response = client.post(NEW, {"service": "mobile", "ref": form_ref(client), "number": "0771 23 45 67",
                                 "plan_code": "", "amount": "", "check": "1"})
    page = response.content.decode()
    assert response.context["operator"] == "Djezzy"
    assert '<optgroup label="Mobilis" data-network="Mobilis" hidden>' in page
    assert '<optgroup label="Djezzy" data-network="Djezzy">' in page
    assert Order.objects.count() == 0


def test_cost_and_selling_price_before_sending(counter, client, supervisor):
    client.force_login(supervisor)  # the books' keeper sees the cost; a cashier the price only (below)
    answer = client.get(CHECK, {"number": "0771234567", "plan_code": "PREPAID_DJEZZY", "amount": "1000"}).json()
    # 1000 x 0.9925 = 992.50 at most, or the full 1000 (both documented): the face value plus
    # Djezzy's 12.50 DA fee, never below the full amount.
    assert answer["ok"] and answer["cost"] == "992.50 DA" and answer["price"] == "1,012.50 DA"
    assert answer["range"] == "100 DA to 10,000 DA"
    response = client.post(NEW, {"service": "mobile", "ref": form_ref(client), "number": "0771234567",
                                 "plan_code": "PREPAID_DJEZZY", "amount": "1000", "check": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and "992.50 DA" in page and "1,012.50 DA" in page
    assert Order.objects.count() == 0


def test_a_cashier_sees_the_price_not_the_cost(counter, client):
    answer = client.get(CHECK, {"number": "0771234567", "plan_code": "PREPAID_DJEZZY", "amount": "1000"}).json()
    assert answer["ok"] and answer["price"] == "1,012.50 DA" and "cost" not in answer
    response = client.post(NEW, {"service": "mobile", "ref": form_ref(client), "number": "0771234567",
                                 "plan_code": "PREPAID_DJEZZY", "amount": "1000", "check": "1"})
    page = response.content.decode()
    assert "1,012.50 DA" in page and "992.50" not in page and 'id="quote-cost"' not in page


def test_a_fixed_plan_needs_no_amount(counter, client, supervisor):
    client.force_login(supervisor)
    answer = client.get(CHECK, {"number": "0661234567", "plan_code": "PIXX_500"}).json()
    assert answer["ok"] and answer["amount"] == "500" and answer["cost"] == "485.00 DA"


def test_a_plan_without_cost_is_allowed_and_says_so(counter, client, supervisor):
    client.force_login(supervisor)
    answer = client.get(CHECK, {"number": "0661234567", "plan_code": "GROS_MOBILIS", "amount": "5000"}).json()
    assert answer["ok"] and answer["cost"] == ""
    assert "not known until the API answers" in answer["cost_unknown"]
    response = client.post(NEW, {"service": "mobile", "ref": form_ref(client), "number": "0661234567",
                                 "plan_code": "GROS_MOBILIS", "amount": "5000", "check": "1"})
    assert "not known until the API answers" in response.content.decode()


@pytest.mark.parametrize("number,plan_code,amount,message", [
    ("0661234567", "PREPAID_DJEZZY", "1000", "is a Mobilis number"),
    ("07712345", "PREPAID_DJEZZY", "1000", "8 digits typed"),
    ("077123456789", "PREPAID_DJEZZY", "1000", "10 digits starting with 05"),
    ("0771234567", "PREPAID_DJEZZY", "50", "between 100 and 10000 DA"),
    ("0771234567", "PREPAID_DJEZZY", "10001", "between 100 and 10000 DA"),
    ("0771234567", "PREPAID_DJEZZY", "100.5", "whole number"),
    ("0771234567", "PREPAID_DJEZZY", "abc", "whole number"),
    ("0771234567", "PREPAID_DJEZZY", "", "Type the amount"),
    ("0551234567", "FACTURE_OOREDOO", "1000", "unavailable"),
    ("0771234567", "NO_SUCH_PLAN", "1000", "no longer offered"),
    ("0771234567", "", "1000", "This field is required"),
])
def test_bad_input_is_told_and_nothing_is_sent(counter, client, number, plan_code, amount, message):
    response = send(client, number, plan_code, amount)
    assert response.status_code == 400
    assert message in errors_of(response)
    assert Order.objects.count() == 0
    assert counter.stats()["total_debited"] == 0


def test_a_plan_that_vanished_since_the_form_was_rendered(counter, client):
    ref = form_ref(client)
    counter.remove_plan("MIX1000_DJEZZY")
    assert mobile.sync_plans().ok
    response = client.post(NEW, {"service": "mobile", "ref": ref, "number": "0771234567",
                                 "plan_code": "MIX1000_DJEZZY", "amount": ""})
    assert response.status_code == 400 and "no longer offered" in errors_of(response)
    assert Order.objects.count() == 0


def test_internet_orders_keep_working(counter, client):
    response = client.post(NEW, {"line_type": "ADSL", "number": "036362600", "value": "ADSL:1000",
                                 "ref": client.get(NEW).context["form"]["ref"].value()})
    order = Order.objects.get()
    assert response.status_code == 302 and order.service == "internet" and order.line_type == "ADSL"


def test_a_second_top_up_of_the_same_number_and_amount_asks_first(counter, client, operator):
    earlier = MobileOrderFactory(status=S.FULFILLED, created_by=operator)
    ref = form_ref(client)
    data = {"service": "mobile", "ref": ref, "number": "+213771234567", "plan_code": "PREPAID_DJEZZY",
            "amount": "1000"}
    response = client.post(NEW, data)
    assert response.status_code == 200 and 'id="same-line"' in response.content.decode()
    assert earlier.ref in response.content.decode() and Order.objects.count() == 1
    assert client.get(CHECK, data).json()["ok"]  # the live check shows the price, not the question
    client.post(NEW, {**data, "repeat_of": earlier.ref})
    assert Order.objects.count() == 2


def test_no_sale_without_an_open_cash_session(priced_shop, client, make_user):
    assert mobile.sync_plans().ok
    client.force_login(make_user("nadia", "Operators"))
    assert 'id="no-till"' in client.get(NEW, {"service": "mobile"}).content.decode()
    response = send(client, "0771234567", "PREPAID_DJEZZY", "1000")
    page = response.content.decode()
    # Said once, by the page's own warning (not again among the form's errors).
    assert response.status_code == 400 and 'id="no-till"' in page and page.count("Open your cash session") == 1
    assert Order.objects.count() == 0
