"""Number and plan checks are throttled per user, and the API's answer on a line is kept for a
short while: a stolen session cannot burn the shop's API quota (nor get its address blocked) or
walk through numbers, and a clerk who asks again about the same line costs no second call."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.flexy_fixtures import CHECK, NEW, form_ref
from topups.lines.internet import catalog
from topups.models import Order

pytestmark = pytest.mark.django_db
NUMBER_CHECK = reverse("topups:check_number")
TOO_MANY = "Too many checks in a short time: wait a moment, then try again."


def api_checks(sim) -> int:
    return sim.stats()["calls"].get("check-number", 0)


@pytest.fixture(autouse=True)
def no_earlier_checks():
    """No answer or count left by an earlier test (a Redis cache is not rolled back with the
    database, and user ids come back on SQLite)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clerk(sim, client, operator):
    assert catalog.sync_catalog().ok
    client.force_login(operator)
    return client


def test_number_checks_over_the_rate_are_refused_before_the_api(clerk, sim, settings, supervisor):
    settings.NUMBER_CHECK_RATE = "3/m"
    answers = [clerk.get(NUMBER_CHECK, {"line_type": "ADSL", "number": f"03636260{i}"}) for i in range(6)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429, 429]
    assert answers[-1].json() == {"ok": False, "throttled": True, "message": TOO_MANY}
    assert api_checks(sim) == 3  # the refused ones never reached the API
    # Per user: a colleague at the next till is not slowed down.
    colleague = Client()
    colleague.force_login(supervisor)
    assert colleague.get(NUMBER_CHECK, {"line_type": "ADSL", "number": "036362609"}).status_code == 200
    assert api_checks(sim) == 4


def test_the_throttle_message_is_in_the_readers_language(clerk, settings):
    settings.NUMBER_CHECK_RATE = "1/m"
    clerk.post(reverse("set_language"), {"language": "fr", "next": "/"})
    clerk.get(NUMBER_CHECK, {"line_type": "ADSL", "number": "036362600"})
    answer = clerk.get(NUMBER_CHECK, {"line_type": "ADSL", "number": "036362601"}).json()
    assert answer["message"] == "Trop de vérifications en peu de temps : patientez un instant, puis réessayez."


def test_a_line_checked_again_is_answered_without_a_second_call(clerk, sim, settings):
    settings.NUMBER_CHECK_CACHE_SECONDS = 60  # the production figure (off in the other tests)
    first = clerk.get(NUMBER_CHECK, {"line_type": "ADSL", "number": "036362600"}).json()
    again = clerk.get(NUMBER_CHECK, {"line_type": "ADSL", "number": "0363 62 600"}).json()  # the same line
    assert first["ok"] and again == first
    refused = clerk.get(NUMBER_CHECK, {"line_type": "ADSL", "number": "036362699"}).json()
    assert clerk.get(NUMBER_CHECK, {"line_type": "ADSL", "number": "036362699"}).json() == refused
    assert not refused["ok"] and refused["code"] == "ERR_PHONE"
    assert api_checks(sim) == 2
    # Words are the reader's: a cached answer is worded again in French for a French reader.
    clerk.post(reverse("set_language"), {"language": "fr", "next": "/"})
    french = clerk.get(NUMBER_CHECK, {"line_type": "ADSL", "number": "036362600"}).json()
    assert french["ncli"] == first["ncli"] and french["message"] != first["message"]
    assert api_checks(sim) == 2


def test_an_api_outage_is_not_remembered(clerk, sim, settings):
    settings.NUMBER_CHECK_CACHE_SECONDS = 60
    sim.inject_fault("check-number", "unavailable", count=1)
    assert clerk.get(NUMBER_CHECK, {"line_type": "ADSL", "number": "036362600"}).status_code == 503
    assert clerk.get(NUMBER_CHECK, {"line_type": "ADSL", "number": "036362600"}).json()["ok"]


def test_plan_checks_over_the_rate_are_refused(counter, client, settings):
    settings.PLAN_CHECK_RATE = "2/m"
    asked = {"number": "0771234567", "plan_code": "PREPAID_DJEZZY", "amount": "1000"}
    answers = [client.get(CHECK, asked) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].json()["ok"] and answers[-1].json()["message"] == TOO_MANY
    # The form's "Show plans and price" (no script) counts in the same throttle, and says so.
    response = client.post(NEW, {"service": "mobile", "ref": form_ref(client), "check": "1", **asked})
    assert response.status_code == 429 and TOO_MANY in response.content.decode()
    assert response.context["form"]["number"].value() == "0771234567"  # given back as typed
    # Selling is not a check: the order goes through.
    response = client.post(NEW, {"service": "mobile", "ref": form_ref(client), **asked})
    assert response.status_code == 302 and Order.objects.count() == 1
