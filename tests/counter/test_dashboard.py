"""The staff dashboard through Django's test client, against the API simulator over HTTP."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.conftest import printed_text
from tests.factories import place
from topups.csv_export import safe_cell
from topups.models import ApiAccount, Order, OrderStatus
from topups.services import sending, sync
from topups.services.account import current_fingerprint
from topups.services.actors import Actor

S = OrderStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def op_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def sup_client(client, supervisor):
    client.force_login(supervisor)
    return client


def form_ref(client) -> str:
    """The ref the new-order page issues (signed by the server) for this client's user."""
    html = client.get(reverse("topups:new_order")).content.decode()
    return re.search(r'name="ref" value="([^"]+)"', html).group(1)


def post_order(client, ref=None, line_type="ADSL", number="036362600", value="ADSL:1000"):
    data = {"line_type": line_type, "number": number, "value": value, "ref": ref or form_ref(client)}
    return client.post(reverse("topups:new_order"), data)


# Access -------------------------------------------------------------------------------------------

PAGES = [
    ("get", "topups:home", {}), ("get", "topups:orders", {}), ("get", "topups:new_order", {}),
    ("get", "topups:check_number", {}), ("get", "topups:order_statuses", {}), ("get", "topups:order_export", {}),
    ("get", "topups:order", {"pk": 1}), ("get", "topups:order_status", {"pk": 1}),
    ("post", "topups:order_refresh", {"pk": 1}), ("get", "topups:order_receipt", {"pk": 1}),
]


@pytest.mark.parametrize(("method", "name", "kwargs"), PAGES)
def test_anonymous_is_sent_to_login(client, method, name, kwargs):
    url = reverse(name, kwargs=kwargs)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize(("method", "name", "kwargs"), PAGES)
def test_user_without_permissions_gets_403(client, make_user, operator, method, name, kwargs):
    order = place(operator)
    client.force_login(make_user("nobody"))
    kwargs = {"pk": order.pk} if kwargs else {}
    response = getattr(client, method)(reverse(name, kwargs=kwargs))
    assert response.status_code == 403


def test_operator_cannot_export(op_client):
    assert op_client.get(reverse("topups:order_export")).status_code == 403


def test_login_page_and_logout(client, operator):
    response = client.get(reverse("login"))
    assert response.status_code == 200 and b'name="password"' in response.content
    response = client.post(reverse("login"), {"username": "olga", "password": "pw-olga"})
    assert response.status_code == 302
    assert client.get(reverse("topups:home")).status_code == 200
    assert client.get(reverse("logout")).status_code == 405  # logout is POST only
    client.post(reverse("logout"))
    assert client.get(reverse("topups:home")).status_code == 302


def test_refresh_is_for_the_creator_or_supervisors(client, operator, make_user, synced):
    order = place(operator)
    other = make_user("otto", "Operators")
    client.force_login(other)
    assert client.post(reverse("topups:order_refresh", args=[order.pk])).status_code == 403
    client.force_login(operator)
    assert client.post(reverse("topups:order_refresh", args=[order.pk])).status_code == 302


def test_a_manual_refresh_says_when_the_api_could_not_answer(op_client, operator, synced):
    op_client.post(reverse("topups:new_order"), {"line_type": "ADSL", "number": "036362600",
                                                 "value": "ADSL:1000", "ref": form_ref(op_client)})
    order = Order.objects.get()
    assert order.status == S.HANDLING
    synced.inject_fault("check-id", "unavailable", count=5)
    response = op_client.post(reverse("topups:order_refresh", args=[order.pk]), follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1 and "API problem" in shown[0] and "No change yet" not in shown[0]


# New order ------------------------------------------------------------------------------------------


def test_new_order_page_lists_values_with_cost_for_the_books_only(op_client, supervisor, synced):
    response = op_client.get(reverse("topups:new_order"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="ADSL:1000"' in html and "cost 980" not in html  # a cashier sees values and prices
    assert 'name="ref"' in html and "autofocus" in html
    op_client.force_login(supervisor)
    assert "cost 980.00 DA" in op_client.get(reverse("topups:new_order")).content.decode()


def test_order_entry_to_fulfilled(op_client, operator, synced):
    response = post_order(op_client)
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("topups:order", args=[order.pk])
    assert order.status == S.HANDLING and order.created_by == operator  # sent inline (Q sync)
    page = op_client.get(response["Location"]).content.decode()
    assert "being processed" in page and 'data-poll="' in page
    synced.advance(5)
    assert op_client.post(reverse("topups:order_refresh", args=[order.pk])).status_code == 302
    order.refresh_from_db()
    assert order.status == S.FULFILLED
    status = op_client.get(reverse("topups:order_status", args=[order.pk])).json()
    assert status["final"] and status["card_code"] == order.card_code and status["num_trans"] == order.num_trans
    page = op_client.get(reverse("topups:order", args=[order.pk])).content.decode()
    assert order.card_code in page and order.num_trans in page and "data-poll" not in page
    receipt = op_client.get(reverse("topups:order_receipt", args=[order.pk]) + "?width=58").content.decode()
    assert order.card_code in printed_text(receipt) and "58mm" in receipt and "OneClickDZ reseller" in receipt


def test_card_code_masked_for_other_operators_shown_to_supervisors(client, operator, make_user, supervisor,
                                                                   synced):
    order = place(operator)
    sending.send_order(order_id=order.pk, actor=Actor.user(operator))
    synced.advance(5)
    sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=Actor.user(operator))
    order.refresh_from_db()
    code = order.card_code
    client.force_login(make_user("otto", "Operators"))
    page = client.get(reverse("topups:order", args=[order.pk])).content.decode()
    assert code not in page and code[-4:] in page
    assert client.get(reverse("topups:order_status", args=[order.pk])).json()["card_code"] != code
    client.force_login(supervisor)
    assert code in client.get(reverse("topups:order", args=[order.pk])).content.decode()


def test_refusal_keeps_the_form_filled(op_client, synced):
    response = post_order(op_client, number="0363 626 99")
    html = response.content.decode()
    assert response.status_code == 200
    order = Order.objects.get()
    assert order.status == S.REFUSED
    assert "Refused, nothing was charged" in html and order.refusal_message in html
    assert 'value="036362699"' in html and 'value="ADSL:1000" data-type="ADSL" selected' in html
    assert order.ref not in html.split('name="ref"')[1][:80]  # a fresh ref for the corrected order


def test_invalid_number_shows_the_expected_form(op_client, synced):
    response = post_order(op_client, number="12ab")
    html = response.content.decode()
    assert response.status_code == 400 and not Order.objects.exists()
    assert "9 digits starting with 0" in html and 'value="12ab"' in html


def test_double_submit_makes_one_order(op_client, synced):
    ref = form_ref(op_client)
    first = post_order(op_client, ref=ref)
    second = post_order(op_client, ref=ref)
    assert Order.objects.count() == 1
    assert first["Location"] == second["Location"]
    assert synced.stats()["refs"][Order.objects.get().ref] == {"orders": 1, "attempts": 1}


def test_check_number(op_client, synced):
    url = reverse("topups:check_number")
    ok = op_client.get(url, {"line_type": "ADSL", "number": "036362600"}).json()
    assert ok["ok"] and ok["ncli"]
    bad = op_client.get(url, {"line_type": "ADSL", "number": "036362699"}).json()
    assert not bad["ok"] and bad["code"] == "ERR_PHONE"
    invalid = op_client.get(url, {"line_type": "4G", "number": "12"})
    assert invalid.status_code == 400 and "213" in invalid.json()["message"]


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    line_type=st.one_of(st.sampled_from(["ADSL", "4G", ""]), st.text(max_size=10)),
    number=st.text(max_size=40),
    value=st.one_of(st.sampled_from(["ADSL:1000", "4G:1500", "ADSL:abc", ":"]), st.text(max_size=20)),
    ref=st.one_of(st.none(), st.text(max_size=70), st.from_regex(r"\AOC-[A-Z0-9]{6,20}\Z")),
)
def test_new_order_form_never_500(op_client, synced, line_type, number, value, ref):
    ref = form_ref(op_client) if ref is None else ref  # None: the ref the server issued
    data = {"line_type": line_type, "number": number, "value": value, "ref": ref}
    data = {k: v.replace("\x00", "") for k, v in data.items()}
    response = op_client.post(reverse("topups:new_order"), data)
    assert response.status_code in (200, 302, 400)


# Home -----------------------------------------------------------------------------------------------


def test_home_reads_cached_rows_only_and_shows_banners(op_client, sim, settings, django_assert_max_num_queries):
    sim.configure(fulfil_after=3)  # the simulator is up, but the home page must not call it
    ApiAccount.objects.create(key_fingerprint=current_fingerprint(), balance=Decimal("1200"), key_type="SANDBOX",
                              refused_reason="INVALID_ACCESS_TOKEN")
    before = dict(sim.stats()["calls"])
    with django_assert_max_num_queries(14):  # 12, and the waiting list's counter (two indexed counts)
        html = op_client.get(reverse("topups:home")).content.decode()
    assert sim.stats()["calls"] == before
    # A cashier is told the balance is low, not the balance itself.
    assert "balance is low" in html and "Sandbox key" in html and "refused our key" in html
    assert 'id="balance-card"' not in html
    settings.ONECLICKDZ_API_KEY = ""
    assert "No API key is configured" in op_client.get(reverse("topups:home")).content.decode()


# Lists and export --------------------------------------------------------------------------------


def test_orders_list_filters_and_search(sup_client, operator, supervisor):
    a = place(operator, number="036362601")
    b = place(supervisor, number="213665983439", line_type="4G", value=1500)
    html = sup_client.get(reverse("topups:orders")).content.decode()
    assert a.ref in html and b.ref in html
    html = sup_client.get(reverse("topups:orders"), {"line_type": "4G"}).content.decode()
    assert b.ref in html and a.ref not in html
    html = sup_client.get(reverse("topups:orders"), {"q": "036362601"}).content.decode()
    assert a.ref in html and b.ref not in html
    html = sup_client.get(reverse("topups:orders"), {"staff": operator.pk, "date_from": "bad"}).content.decode()
    assert a.ref in html and b.ref not in html


def test_status_endpoint_query_count_is_constant(op_client, operator, django_assert_max_num_queries):
    order = place(operator)
    op_client.get(reverse("topups:order_status", args=[order.pk]))  # warm up
    with django_assert_max_num_queries(5):
        assert op_client.get(reverse("topups:order_status", args=[order.pk])).json()["status"] == "new"


def test_csv_export_streams_and_neutralises_formulas(sup_client, operator):
    place(operator)
    Order.objects.update(card_code="=HYPERLINK(1)", num_trans="+123", topup_id="@x")
    response = sup_client.get(reverse("topups:order_export"))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "Reference" and len(rows) == 2
    assert "'=HYPERLINK(1)" in rows[1] and "'+123" in rows[1] and "'@x" in rows[1]


def test_csv_export_masks_codes_of_others_without_permission(client, make_user, operator):
    from django.contrib.auth.models import Permission

    place(operator)
    Order.objects.update(card_code="123456789012")
    clerk = make_user("clerk", "Operators")
    clerk.user_permissions.add(Permission.objects.get(codename="export_order"))
    client.force_login(clerk)
    body = b"".join(client.get(reverse("topups:order_export")).streaming_content).decode("utf-8-sig")
    assert "123456789012" not in body and "9012" in body


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_safe_cell(value):
    assert safe_cell(value) == "'" + value
    assert safe_cell("036362600") == "036362600"


# Languages --------------------------------------------------------------------------------------


def test_arabic_is_right_to_left(op_client):
    op_client.post(reverse("set_language"), {"language": "ar", "next": "/"})
    html = op_client.get(reverse("topups:home")).content.decode()
    assert 'lang="ar" dir="rtl"' in html
    op_client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    html = op_client.get(reverse("topups:home")).content.decode()
    assert 'lang="fr" dir="ltr"' in html and "Nouvelle commande" in html and "Catalogue" in html
