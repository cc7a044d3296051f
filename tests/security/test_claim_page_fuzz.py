"""The customer's public page under hostile input: no 500 from any token, language or digits
anyone types; the card code never in an answer without the right digits; tries throttled.
(The walk of every URL in test_params.py covers it too, as every role, through the matrix.)"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.claims.conftest import CODE, S, fulfil, to_status
from tests.factories import place
from tests.security.test_params import HOSTILE, SHARP
from topups.models import AuditEvent
from topups.services import claims

pytestmark = pytest.mark.django_db

TYPED = st.one_of(st.sampled_from(HOSTILE + SHARP + ["2691", " 2691 ", "٢٦٩١", "2691\x00", "+2691"]),
                  st.text(max_size=12), st.from_regex(r"[0-9]{1,6}", fullmatch=True))


@pytest.fixture
def delivered(sim, operator, settings):
    cache.clear()
    settings.CLAIM_PAGE_RATE = settings.CLAIM_TRY_RATE = "100000/m"  # the fuzz checks answers, not the throttle
    order = to_status(place(operator, "036362691"), S.SENDING, S.HANDLING, S.QUEUED)
    token = claims.live_link(order, language="en").token
    yield fulfil(order), token
    cache.clear()


@hsettings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(digits=TYPED, lang=TYPED, extra=st.dictionaries(st.sampled_from(["token", "ref", "id", "next", "page"]),
                                                        TYPED, max_size=2))
def fuzz_the_digits(client, url, digits, lang, extra):
    response = client.post(url + "?lang=x", {"digits": digits, "lang": lang, **extra})
    body = response.content.decode()
    assert response.status_code < 500, (digits, lang)
    right = claims.digits_match(type("O", (), {"number": "036362691"})(), digits)
    assert right == (response.status_code == 200), (digits, response.status_code)
    if not right:
        assert CODE not in body and CODE[:4] + "</span>" not in body, digits
    got = client.get(url, {"lang": lang, **extra})
    assert got.status_code == 200 and CODE not in got.content.decode()


def test_no_answer_is_an_error_and_no_code_shows_without_the_digits(delivered):
    _order, token = delivered
    fuzz_the_digits(Client(raise_request_exception=False), reverse("claim", kwargs={"token": token}))


@hsettings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(token=st.one_of(st.sampled_from(HOSTILE + SHARP), st.text(min_size=1, max_size=60).filter(
    lambda t: "/" not in t and t not in (".", ".."))))
def fuzz_the_token(client, real, token):
    response = client.get(f"/c/{quote(token, safe='')}/") if token != real else None
    if response is not None:
        assert response.status_code in (404, 400), (token, response.status_code)
        assert CODE not in response.content.decode()


def test_any_token_but_the_real_one_shows_nothing(delivered):
    _order, token = delivered
    fuzz_the_token(Client(raise_request_exception=False), token)
    # A NUL in a token once reached PostgreSQL, which refuses it (a 500); seen in no other database.
    assert Client(raise_request_exception=False).get("/c/%00abcdefghijklmnopqrstu/").status_code == 404


def test_guessing_the_digits_is_stopped_by_the_throttle(delivered, settings):
    """Ten thousand combinations, five tries per link per quarter hour: a guesser gets five."""
    order, token = delivered
    cache.clear()
    settings.CLAIM_TRY_RATE = "5/15m"
    url = reverse("claim", kwargs={"token": token})
    answers = [Client(REMOTE_ADDR=f"10.0.0.{n}").post(url, {"digits": f"{n:04d}"}).status_code for n in range(1, 40)]
    assert answers[:5] == [403] * 5 and set(answers[5:]) == {429}
    # Even the right digits, from yet another address, wait out the quarter hour.
    late = Client(REMOTE_ADDR="10.0.1.1").post(url, {"digits": "2691"})
    assert late.status_code == 429 and CODE not in late.content.decode()
    assert not AuditEvent.objects.filter(action="reveal_code").exists()
