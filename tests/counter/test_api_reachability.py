"""The record of the API not answering: since the first failure, cleared once it answers, shown
only for the URL the app calls."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.processes import free_port
from topups import selectors
from topups.oneclick import TransportError
from topups.services import account

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_api(settings, sim):
    settings.ONECLICKDZ_API_URL = f"http://127.0.0.1:{free_port()}/v3"
    account.reset_client()
    return settings.ONECLICKDZ_API_URL


def test_since_is_the_first_failure_and_an_answer_clears_it(dead_api, settings, simulator_server):
    for _ in range(2):
        with pytest.raises(TransportError):
            account.get_client().balance()
    record = selectors.account_state().unreachable
    assert record["url"] == dead_api and record["cause"] == "could not connect"
    assert record["since"] < record["last"]  # the second failure kept the first one's time
    assert selectors.account_state().unreachable_cause == "connection refused or host not found"

    settings.ONECLICKDZ_API_URL = simulator_server.url
    account.reset_client()
    assert selectors.account_state().unreachable is None  # another URL's record is not ours
    cache.set(account.UNREACHABLE, {**record, "url": simulator_server.url})
    account.get_client().balance()
    assert selectors.account_state().unreachable is None


def test_an_answer_costs_no_cache_call_once_cleared(sim):
    client = account.get_client()
    client.ping()  # clears (one cache call)
    cache.set(account.UNREACHABLE, {"url": client.base_url, "since": 1, "last": 1, "cause": "x"})
    client.ping()
    assert cache.get(account.UNREACHABLE) is not None  # not re-checked within REACHED_RECHECK_SECONDS
