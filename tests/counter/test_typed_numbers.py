"""A number is taken in every form the counter accepts (spaces, dashes, +213, 00213, Arabic-Indic
digits, the direction marks of a number copied from Arabic text) by every form that takes one: the
admin's add form, the counter's two tabs, the bulk file and the search. The typed text is compacted
before any length rule (``topups.numbers.TypedNumberField``): ``+213 790 45 53 95`` is 17 characters
and ``Order.number`` holds 16."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import MobileOrderFactory, OrderFactory
from tests.flexy_fixtures import NEW, send
from topups.lines.internet.forms import NewOrderForm
from topups.models import Order, OrderStatus
from topups.numbers import TypedNumberField
from topups.selectors import search_q
from topups.services import batches, tills
from topups.services.actors import Actor

pytestmark = pytest.mark.django_db

MOBILE = "0790455395"
MOBILE_AS_TYPED = ["+213 790 45 53 95", "00213 790-45-53-95", "0790 45 53 95", "790 45 53 95",
                   "٠٧٩٠ ٤٥ ٥٣ ٩٥", "+٢١٣ ٧٩٠ ٤٥ ٥٣ ٩٥", "\u200f+213 790 45 53 95\u200e"]
LTE = "213665983439"
LTE_AS_TYPED = ["+213 665 98 34 39", "00213 665-98-34-39", "0665 98 34 39", "٠٦٦٥ ٩٨ ٣٤ ٣٩",
                "+٢١٣ ٦٦٥ ٩٨ ٣٤ ٣٩", "\u202b+213 665 98 34 39\u202c"]
INLINE = {"events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0", "events-MIN_NUM_FORMS": "0",
          "events-MAX_NUM_FORMS": "1000"}


@pytest.fixture
def admin_client(counter, client, supervisor):
    """A supervisor in the admin with a cash session open (the shop of the ``counter`` fixture)."""
    tills.open_till(actor=Actor.user(supervisor), opening_cash="0")
    client.force_login(supervisor)
    return client


@pytest.mark.parametrize("typed", MOBILE_AS_TYPED)
def test_the_admin_adds_a_flexy_order_typed_as_at_the_counter(admin_client, typed):
    form = {"service": "mobile", "line_type": "", "plan_code": "PREPAID_DJEZZY", "number": typed,
            "value": "1000", "note": "", **INLINE}
    response = admin_client.post(reverse("admin:topups_order_add"), form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Order.objects.get().number == MOBILE


@pytest.mark.parametrize("typed", LTE_AS_TYPED)
def test_the_admin_adds_a_card_typed_as_at_the_counter(admin_client, typed):
    form = {"service": "", "line_type": "4G", "plan_code": "", "number": typed, "value": "1500", "note": "",
            **INLINE}
    response = admin_client.post(reverse("admin:topups_order_add"), form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Order.objects.get().number == LTE


def test_a_number_too_long_once_compacted_is_told_not_truncated(admin_client):
    form = {"service": "mobile", "line_type": "", "plan_code": "PREPAID_DJEZZY", "number": "+213 790 45 53 95 12 34",
            "value": "1000", "note": "", **INLINE}
    response = admin_client.post(reverse("admin:topups_order_add"), form)
    assert response.status_code == 200 and "at most 16 characters" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize("typed", MOBILE_AS_TYPED)
def test_the_counters_flexy_tab_takes_every_form(counter, client, typed):
    response = send(client, typed, "PREPAID_DJEZZY", "1000")
    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.service, order.number) == ("mobile", MOBILE)


@pytest.mark.parametrize("typed", LTE_AS_TYPED)
def test_the_counters_internet_tab_takes_every_form(counter, client, typed):
    response = client.post(NEW, {"line_type": "4G", "number": typed, "value": "4G:1500",
                                 "ref": client.get(NEW).context["form"]["ref"].value()})
    assert response.status_code == 302
    assert Order.objects.get().number == LTE


def test_the_browser_lets_staff_type_more_than_the_column_holds(counter, client, operator, supervisor):
    """The page's maxlength is the typed allowance (a browser cuts what is typed beyond it), the
    length rule is on the compacted number: at the counter and in the admin's add form alike."""
    for page in (client.get(NEW).content.decode(), client.get(NEW, {"service": "mobile"}).content.decode()):
        assert f'name="number" id="id_number" value="" maxlength="{TypedNumberField.TYPED_MAX}"' in page
    assert 'maxlength="40"' in str(NewOrderForm(products=[], user=operator)["number"])
    client.force_login(supervisor)
    admin_page = client.get(reverse("admin:topups_order_add")).content.decode()
    number_input = re.search(r'<input[^>]*name="number"[^>]*>', admin_page).group(0)
    assert f'maxlength="{TypedNumberField.TYPED_MAX}"' in number_input, number_input


def test_the_bulk_file_takes_every_form(counter, supervisor):
    lines = ["type,number,value,plan_code"]
    lines += [f"FLEXY,{typed},1000,PREPAID_DJEZZY" for typed in MOBILE_AS_TYPED]
    lines += [f"4G,{typed},1500," for typed in LTE_AS_TYPED]
    batch = batches.preview_batch(file_name="typed.csv", data="\n".join(lines).encode(), actor=Actor.user(supervisor))
    rows = sorted(batch.rows, key=lambda row: row["line"])
    assert [row["number"] for row in rows] == [MOBILE] * len(MOBILE_AS_TYPED) + [LTE] * len(LTE_AS_TYPED)
    # Every spelling is the same line: the first row of each is valid, the others are its duplicates.
    first_lte = 2 + len(MOBILE_AS_TYPED)
    assert [row["errors"] for row in rows] == (
        [[]] + [[["duplicate", {"first": 2}]]] * (len(MOBILE_AS_TYPED) - 1)
        + [[]] + [[["duplicate", {"first": first_lte}]]] * (len(LTE_AS_TYPED) - 1))


def test_the_bulk_file_still_refuses_a_formula_in_the_number(counter, supervisor):
    data = b"type,number,value,plan_code\nFLEXY,+213+cmd|'/c calc'!A1,1000,PREPAID_DJEZZY\n"
    batch = batches.preview_batch(file_name="f.csv", data=data, actor=Actor.user(supervisor))
    assert not batch.rows[0]["valid"] and ["formula", {"column": "number"}] in batch.rows[0]["errors"]


@pytest.mark.parametrize("typed", [*MOBILE_AS_TYPED, *LTE_AS_TYPED])
def test_the_search_finds_every_form(operator, typed):
    mobile = MobileOrderFactory(number=MOBILE, status=OrderStatus.FULFILLED, created_by=operator)
    lte = OrderFactory(line_type="4G", number=LTE, value=Decimal(1500), status=OrderStatus.FULFILLED,
                       created_by=operator)
    found = set(Order.objects.filter(search_q(typed)))
    assert found == ({mobile} if typed in MOBILE_AS_TYPED else {lte})


@pytest.mark.parametrize(("typed", "adsl", "lte", "mobile", "operator"), [
    ("036362608", "036362608", None, None, ""),
    ("+213 36 36 26 08", "036362608", None, None, ""),
    ("213665983439", None, "213665983439", "0665983439", "Mobilis"),
    ("00213665983439", None, "213665983439", "0665983439", "Mobilis"),
    ("0665983439", None, "213665983439", "0665983439", "Mobilis"),
    ("665983439", None, "213665983439", "0665983439", "Mobilis"),
    ("2137", None, None, None, "Djezzy"),  # being typed: a bare 213 is the country code at any length
    ("0213665983", None, "213213665983", None, ""),  # the trunk 0 first: 213 is then the line's own digits
])
def test_the_three_number_rules_strip_the_same_prefixes_with_their_own_bare_213_rule(typed, adsl, lte, mobile,
                                                                                   operator):
    """00213, 213 and the trunk 0 come off in one place (numbers.national_digits); a bare 213 counts as
    the country code past 10 digits for a line, at exactly 12 for a mobile number, always while typing."""
    from django.core.exceptions import ValidationError

    from topups.lines.mobile.forms import typed_operator
    from topups.numbers import normalise_mobile, normalise_number

    def outcome(normalise, raw):
        try:
            return normalise(raw)
        except ValidationError:
            return None

    assert outcome(lambda raw: normalise_number("ADSL", raw), typed) == adsl
    assert outcome(lambda raw: normalise_number("4G", raw), typed) == lte
    assert outcome(normalise_mobile, typed) == mobile
    assert typed_operator(typed) == operator
