"""No 500 from anything a user can type in a URL: a property-based walk of every GET view of the
dashboard (and the admin's order list) with hostile query parameters."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import get_resolver, reverse
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from topups.models import Batch, Order, OrderStatus
from topups.services import orders
from topups.services.actors import Actor

from .test_permission_matrix import walk

pytestmark = pytest.mark.django_db
S = OrderStatus

# Every parameter a page reads, and a few it does not.
NAMES = ["id", "page", "date_from", "date_to", "staff", "status", "line_type", "q", "width", "number", "value",
         "type", "ref", "next", "o", "p", "e", "card_code__startswith", "created_at__gte", "all"]
HOSTILE = ["²", "٣", "99999999999999999999", "9223372036854775808", "-1", "0", "1e9", "NaN", "9999-12-31",
           "0001-01-01", "2026-02-30", "\x00", "' OR 1=1 --", "%00", "<script>", "ADSL:1e400", "4G:-0",
           "1" * 500, "ADSL", "fulfilled", " ", ""]
# Mostly the parameters pages read, with mostly hostile values: where the bugs are.
VALUES = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(HOSTILE), st.text(max_size=40),
                   st.integers().map(str), st.dates().map(str))
NAME = st.one_of(st.sampled_from(NAMES), st.sampled_from(NAMES), st.text(min_size=1, max_size=10))
PARAMS = st.lists(st.tuples(NAME, VALUES), max_size=6)


# Every dashboard URL (POST-only views answer GET with 405, which the walk accepts too).
GET_VIEWS = sorted(key for key, _route, _pattern in walk(get_resolver()) if key.startswith("topups:"))


@pytest.fixture
def world(sim, supervisor, make_user):
    owner = make_user("owner", "Operators")
    order = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000),
                                actor=Actor.user(owner))[0]
    Order.objects.filter(pk=order.pk).update(status=S.FULFILLED, card_code="987654321098")
    batch = Batch.objects.create(file_name="orders.csv", created_by=owner)
    client = Client(raise_request_exception=False)
    client.force_login(supervisor)
    return client, {"order": order.pk, "batch": batch.pk}


def url_of(name: str, pks: dict) -> str:
    try:
        return reverse(name)
    except Exception:
        return reverse(name, kwargs={"pk": pks["batch" if "batch" in name else "order"]})


def test_the_walk_covers_the_dashboard():
    assert {"topups:orders", "topups:order_statuses", "topups:order_export", "topups:order_status",
            "topups:home", "topups:order_receipt", "topups:batch_results"} <= set(GET_VIEWS)


@pytest.mark.parametrize("query", [
    "id=%C2%B2", "id=99999999999999999999", "page=99999999999999999999", "page=%C2%B2",
    "date_to=9999-12-31", "date_from=0001-01-01", "staff=99999999999999999999", "staff=%C2%B2", "q=%00",
])
@pytest.mark.parametrize("name", ["topups:orders", "topups:order_export", "topups:order_statuses"])
def test_the_reported_urls_answer_without_an_error(world, name, query):
    client, pks = world
    response = client.get(url_of(name, pks) + "?" + query)
    assert response.status_code == 200, (name, query)
    if name == "topups:orders" and query.startswith("date_"):
        assert "Enter a date between 2000 and 2100" in response.content.decode()


@pytest.mark.parametrize("name", GET_VIEWS)
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=PARAMS)
@example(params=[("id", "²"), ("id", "1")])  # the reported ones, always tried
@example(params=[("page", "99999999999999999999")])
@example(params=[("date_to", "9999-12-31"), ("staff", "99999999999999999999")])
def test_no_get_view_answers_500_to_hostile_parameters(world, name, params):
    client, pks = world
    response = client.get(url_of(name, pks) + "?" + urlencode(params))
    if response.streaming:
        b"".join(response.streaming_content)  # a CSV fails while streaming, not before
    assert response.status_code < 500, (name, params, response.status_code)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=PARAMS)
def test_the_admin_order_list_answers_no_500(world, params):
    client, _pks = world
    response = client.get(reverse("admin:topups_order_changelist") + "?" + urlencode(params))
    assert response.status_code < 500, (params, response.status_code)
