"""The orders search, on the dashboard's list and in the admin: a line number in every form a
customer says it, a partial ref, a transaction number, and an exact card code for those who may see
it (audited)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.factories import place
from topups.models import AuditEvent, Order, OrderStatus
from topups.numbers import normalise_number

pytestmark = pytest.mark.django_db
S = OrderStatus
CODE = "918273645501"


@pytest.fixture
def shop(operator, make_user):
    lte = place(operator, "213665983439", line_type="4G", value=1500, status=S.FULFILLED, card_code=CODE,
                num_trans="TX-2026-004471")
    adsl = place(operator, "036362608", line_type="ADSL", value=1000)
    other = place(make_user("owner", "Operators"), "213770112233", line_type="4G", value=1500, status=S.FULFILLED,
                  card_code="555544443333", num_trans="TX-2026-009999")
    return {"lte": lte, "adsl": adsl, "other": other}


def found(client, term, url=None) -> set[str]:
    """What the dashboard's search (a POST: it lands on the order a card code finds) or, given
    ``url``, a GET search (the admin's) shows for ``term``."""
    if url:
        html = client.get(url, {"q": term}).content.decode()
    else:
        html = client.post(reverse("topups:orders"), {"q": term}, follow=True).content.decode()
    return {name for name, order in SHOP.items() if order.ref in html}


SHOP: dict[str, Order] = {}


@pytest.fixture
def logged(shop):
    SHOP.clear()
    SHOP.update(shop)

    def login(user) -> Client:
        client = Client()
        client.force_login(user)
        return client
    return login


@pytest.mark.parametrize("term", [
    "0665983439", "+213665983439", "00213 665 98 34 39", "213665983439", "0665 98 34 39", "٠٦٦٥٩٨٣٤٣٩",
    "665-98-34-39",
])
def test_a_mobile_number_in_every_form(logged, supervisor, term):
    assert found(logged(supervisor), term) == {"lte"}


@pytest.mark.parametrize("term", ["036362608", "036 36 26 08", "٠٣٦٣٦٢٦٠٨", "36362608"])
def test_an_adsl_number_in_every_form(logged, supervisor, term):
    assert found(logged(supervisor), term) == {"adsl"}


def test_a_partial_ref_and_a_transaction_number(logged, supervisor):
    client = logged(supervisor)
    ref = SHOP["adsl"].ref
    assert found(client, ref[-6:].lower()) == {"adsl"}
    assert found(client, ref) == {"adsl"}
    assert found(client, "TX-2026-004471") == {"lte"}
    assert found(client, "004471") == {"lte"}
    assert found(client, "zzzz") == set()


def test_a_card_code_finds_its_order_for_those_who_may_see_it_and_is_audited(logged, operator, supervisor):
    assert found(logged(supervisor), CODE) == {"lte"}
    assert found(logged(supervisor), "5555 4444 3333") == {"other"}
    rows = sorted(AuditEvent.objects.filter(action="search_code").values_list("actor_id", "target"))
    assert rows == sorted([(supervisor.pk, SHOP["lte"].ref), (supervisor.pk, SHOP["other"].ref)])
    # An operator finds the code of their own order, never a colleague's (nor is it audited).
    assert found(logged(operator), CODE) == {"lte"}
    assert found(logged(operator), "555544443333") == set()
    assert AuditEvent.objects.filter(action="search_code", actor_id=operator.pk).count() == 1
    # A part of a code finds nothing: codes are only matched exactly, through their digest.
    assert found(logged(supervisor), CODE[:9]) == set()


def test_the_export_finds_the_same_orders_and_keeps_the_code_masked(logged, supervisor):
    response = logged(supervisor).post(reverse("topups:order_export"), {"q": CODE})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert SHOP["lte"].ref in body and SHOP["other"].ref not in body
    export = AuditEvent.objects.get(action="export")
    assert CODE not in str(export.detail) and CODE[-4:] in str(export.detail)


def test_an_export_by_get_keeps_a_card_code_masked_in_the_audit_trail(logged, supervisor):
    """A code typed into the export's address (an old bookmark) finds nothing, and the audit row
    of that export keeps the term masked, as after a POST."""
    response = logged(supervisor).get(reverse("topups:order_export"), {"q": CODE})
    b"".join(response.streaming_content)
    export = AuditEvent.objects.get(action="export")
    assert CODE not in str(export.detail) and CODE[-4:] in str(export.detail)
    # A term that is no card code is kept as typed.
    logged(supervisor).get(reverse("topups:order_export"), {"q": "036362608"})
    assert AuditEvent.objects.filter(action="export").order_by("pk").last().detail["filters"]["q"] == "036362608"


@pytest.mark.parametrize("term,expected", [
    ("0665983439", {"lte"}), ("+213 665 98 34 39", {"lte"}), ("٠٣٦٣٦٢٦٠٨", {"adsl"}), ("TX-2026-009999", {"other"}),
])
def test_the_admin_search_is_the_same(logged, supervisor, term, expected):
    assert found(logged(supervisor), term, url=reverse("admin:topups_order_changelist")) == expected


def test_a_card_code_search_is_a_post_that_lands_on_the_order(logged, supervisor):
    client = logged(supervisor)
    page = client.get(reverse("topups:orders")).content.decode()
    assert '<form method="post" action="/orders/" class="card filters" id="order-filters">' in page
    response = client.post(reverse("topups:orders"), {"q": CODE})
    assert response.status_code == 302 and response["Location"] == reverse("topups:order", args=[SHOP["lte"].pk])
    # A term that is not a code: the results on the list, its filters carried by the pager's form.
    results = client.post(reverse("topups:orders"), {"q": "036362608", "status": "new"}).content.decode()
    assert SHOP["adsl"].ref in results and SHOP["lte"].ref not in results
    assert '<input type="hidden" name="q" value="036362608">' in results
    assert '<input type="hidden" name="status" value="new">' in results


@pytest.mark.parametrize("url", ["topups:orders", "topups:order_export", "admin:topups_order_changelist"])
def test_a_get_never_finds_by_card_code(logged, supervisor, url):
    """A code in a URL lands in access logs and browser history: no GET finds an order by it."""
    response = logged(supervisor).get(reverse(url), {"q": CODE})
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert SHOP["lte"].ref not in body.decode("utf-8-sig", "replace")
    assert not AuditEvent.objects.filter(action="search_code").exists()


def test_the_order_form_accepts_arabic_indic_digits():
    assert normalise_number("ADSL", "٠٣٦ ٣٦٢ ٦٠٨") == "036362608"
    assert normalise_number("4G", "۰۶۶۵۹۸۳۴۳۹") == "213665983439"
    with pytest.raises(ValidationError):
        normalise_number("ADSL", "٠٣٦")
