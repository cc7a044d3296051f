"""No 500 from anything a user can type: the URLs the security rounds reported, then a
property-based walk of every staff URL of the permission matrix (tests/security/test_permission_matrix.py),
as each role, with hostile values in every query parameter and form field the page offers."""

from __future__ import annotations

import os
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode

import pytest
from django.test import Client
from django.urls import get_resolver, reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

# The matrix's fixtures (users of each role, one object of each kind) are used by name.
from tests.security.test_permission_matrix import ROLES, all_cases, objects, reverse_case, users, walk  # noqa: F401
from topups.lines.mobile import plans as mobile
from topups.models import Batch, Order, OrderStatus
from topups.services import orders
from topups.services.actors import Actor

pytestmark = pytest.mark.django_db
S = OrderStatus

# Every parameter a page reads, and a few it does not.
NAMES = ["id", "page", "date_from", "date_to", "staff", "status", "line_type", "q", "width", "number", "value",
         "type", "ref", "next", "o", "p", "e", "card_code__startswith", "created_at__gte", "all"]
HOSTILE = ["²", "٣", "99999999999999999999", "9223372036854775808", "-1", "0", "1e9", "NaN", "9999-12-31",
           "0001-01-01", "2026-02-30", "\x00", "' OR 1=1 --", "%00", "<script>", "ADSL:1e400", "4G:-0",
           "1" * 500, "ADSL", "fulfilled", " ", "", "1e15", "1e30", "1E+99999", "1E+999999999", "-1E+99",
           "Infinity", "sNaN", "1.005", "99999-01-01", "2026-13-01", "10000", "2026-05-01 25:00", "on", "[]",
           "ADSL:1E+999999999", "\ud7ff" * 3, "0661234567", "036362600", "PREPAID_DJEZZY", "open", "close"]
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




# Every staff URL, as each role ---------------------------------------------------------------------

# Examples per URL and role: a handful each keeps the walk to a few minutes on SQLite; raise it
# (FUZZ_EXAMPLES=50) for a deeper run before a release.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
# Values that broke pages before (overflowing numbers, days whose bounds overflow, digits that are
# not 0-9, a NUL): each is put in every field of every page, one field at a time on small forms.
SHARP = ["1E+999999999", "99999999999999999999", "9999-12-31", "0001-01-01", "²\x00"]
SMALL_FORM = 12
# A valid filling of the forms whose fields depend on each other (a mobile amount is read only for
# a plan of the number's operator), so that one sharp field at a time reaches the checks behind.
FILLED = {"topups:new_order": ["service=mobile&number=0771234567&plan_code=PREPAID_DJEZZY&amount=1000",
                               "line_type=ADSL&number=036362600&value=ADSL:1000"],
          "topups:flexy_check": ["number=0771234567&plan_code=PREPAID_DJEZZY&amount=1000"],
          "topups:check_number": ["line_type=ADSL&number=036362600"]}
# Not fuzzed: logging out ends the session the walk runs in (its POST takes no field at all).
SKIPPED = {"logout", "admin:logout"}
# Deleting pages last: a walk that deletes its objects there leaves the other pages theirs.
MATRIX = sorted((key for key in all_cases() if key not in SKIPPED), key=lambda key: ("delete" in key, key))


class FieldNames(HTMLParser):
    """What a page lets a person send: the names (and the page's own values) of its form fields,
    whether a form posts, the query parameters of its links (an admin list's filters), and its
    other versions (``/orders/new/?service=mobile``: the same path with a query)."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.fields: dict[str, str] = {}
        self.posts = False
        self.versions: set[str] = set()
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        href = attrs.get("href") or ""
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.posts = True
        elif tag == "select" and attrs.get("name"):
            self.select = attrs["name"]
            self.fields.setdefault(self.select, "")
        elif tag == "option" and self.select and attrs.get("value"):
            if "selected" in attrs or not self.fields[self.select]:  # the chosen option, else the first
                self.fields[self.select] = attrs["value"]
        elif tag in ("input", "select", "textarea", "button") and attrs.get("name") and attrs.get("type") != "file":
            self.fields.setdefault(attrs["name"], attrs.get("value") or "")
        elif tag == "a" and href.startswith("?"):
            for name, value in parse_qsl(href[1:], keep_blank_values=True):
                self.fields.setdefault(name, value)
        elif tag == "a" and href.startswith(self.path + "?"):
            self.versions.add(href)

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None


def page_fields(client, url: str, filled: list[str] = ()) -> FieldNames:
    """The fields of the page at ``url``; a field's value is first the one a ``filled`` version
    shows (a query the page takes as its initial values), else the page's own."""
    parser = FieldNames(url.split("?")[0])
    for query in filled:
        read(client, f"{url}?{query}", parser)
    read(client, url, parser)
    for version in sorted(parser.versions)[:3]:  # a copy: reading a version may find more
        read(client, version, parser)
    return parser


def read(client, url: str, parser: FieldNames) -> None:
    response = client.get(url)
    if response.status_code == 200 and "html" in response.get("Content-Type", "") and not response.streaming:
        parser.feed(response.content.decode("utf-8", "replace"))


def answer(response) -> int:
    if response.streaming:
        b"".join(response.streaming_content)  # an export fails while streaming, not before
    return response.status_code


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_no_staff_url_answers_500_to_any_field(request, role, settings):
    """Every URL of the matrix, as ``role``: GET with hostile query parameters (those the page's
    forms and links use, plus those any page reads), and, where the URL takes a POST, a POST of
    its form's fields, each kept as the page gave it or replaced by a hostile value. Every URL is
    walked and every 500 reported together."""
    settings.NUMBER_CHECK_RATE = settings.PLAN_CHECK_RATE = "10000/m"  # the walk checks pages, not the throttle
    people, pks = request.getfixturevalue("users"), request.getfixturevalue("objects")
    assert mobile.sync_plans().ok  # the counter's plans, as the schedule keeps them
    root = Client()
    root.force_login(people["superuser"])
    failures = []
    for key in MATRIX:
        try:
            walk_url(key, role, people[role], pks, root)
        except Exception as exc:  # noqa: BLE001 - hypothesis' falsifying example included
            failures.append(f"{key}: {exc!r}"[:1500])
    assert not failures, "\n".join(failures)


def walk_url(key: str, role: str, user, pks: dict, root: Client) -> None:
    case = all_cases()[key]
    url = reverse_case(key, case, pks)
    client = Client(raise_request_exception=False)
    page = page_fields(root, url, FILLED.get(key, []))  # the fields a role allowed to see the page gets
    names = sorted(set(page.fields) | set(case.data) | set(NAMES))
    field = st.sampled_from(names)
    value = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30), st.dates().map(str))

    def login():
        client.logout()
        if user is not None:
            client.force_login(user)

    def get(params):
        status = answer(client.get(url + ("&" if "?" in url else "?") + urlencode(params)))
        assert status < 500, ("GET", key, role, params, status)

    def post(data):
        if case.method == "post" or page.posts:
            status = answer(client.post(url, {**case.data, **data}))
            assert status < 500, ("POST", key, role, data, status)

    # Every field with each sharp value: all at once, then one at a time (the others as the page
    # gave them) on a small form, where one bad field must not hide behind another.
    fields = [name for name in page.fields if name != "csrfmiddlewaretoken"]
    filled = dict(parse_qsl(FILLED.get(key, [""])[0]))
    for sharp in SHARP:
        login()  # a POST may have changed the session (a language, a logout)
        get([(name, sharp) for name in names])
        for name in filled:
            get(list({**filled, name: sharp}.items()))
        post({**page.fields, **{name: sharp for name in fields}})
        if len(fields) <= SMALL_FORM:
            for name in fields:
                post({**page.fields, name: sharp})

    @hsettings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
               suppress_health_check=list(HealthCheck))
    @given(params=st.lists(st.tuples(field, value), min_size=1, max_size=6),
           keep=st.sets(st.sampled_from(sorted(page.fields) or [""])))
    def walk_once(params, keep):
        login()
        get(params)
        post({**{name: page.fields[name] for name in keep if name in page.fields}, **dict(params)})

    walk_once()
