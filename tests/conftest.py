"""Shared fixtures: the API simulator over real HTTP, users of each role, settings for the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache

from topups.lines.internet import catalog
from topups.services import account
from topups.services.actors import Actor
from topups.simulator.testing import serve_in_thread

TEST_KEY = "test-key-0000"
(Path(__file__).resolve().parent.parent / "test-artifacts").mkdir(exist_ok=True)


def pytest_collection_modifyitems(config, items):
    """A test marked ``postgres`` needs PostgreSQL (row locks, two real connections): it is skipped,
    saying so, where DATABASE_URL points elsewhere (SQLite by default), and runs in the second
    pass of .ci/run."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://…); run by the second pass of .ci/run")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def simulator_server():
    with serve_in_thread(keys={TEST_KEY: {"type": "SANDBOX", "scope": "READ-WRITE", "allowed_ips": []}}) as server:
        yield server


@pytest.fixture
def sim(simulator_server, settings):
    """The simulator's control object, reset, with the app pointed at it."""
    simulator = simulator_server.simulator
    simulator.reset()
    settings.ONECLICKDZ_API_URL = simulator_server.url
    settings.ONECLICKDZ_API_KEY = TEST_KEY
    account.reset_client()
    # A first-use fetch that failed in an earlier test keeps its lock for 30 s, and a shared
    # Redis cache is not rolled back between tests.
    cache.delete(catalog.FIRST_USE_LOCK)
    cache.delete(account.UNREACHABLE)
    yield simulator
    account.reset_client()


@pytest.fixture
def synced(sim):
    """The catalog cached from the simulator, as the schedule would have it."""
    assert catalog.sync_catalog().ok
    return sim


@pytest.fixture
def tls_front(simulator_server, settings, monkeypatch):
    """The simulator behind a TLS front that can spoil an answer after the simulator processed it,
    for this process and the clusters a test starts alike (REQUESTS_CA_BUNDLE)."""
    from topups.simulator.tlsfront import tls_front as start_front

    with start_front(simulator_server.host, simulator_server.port) as front:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", front.ca_file)
        settings.ONECLICKDZ_API_URL = front.url
        account.reset_client()
        yield front
    account.reset_client()


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, group: str | None = None, **extra):
        user = django_user_model.objects.create_user(username, password="pw-" + username, **extra)
        if group:
            user.groups.add(Group.objects.get(name=group))
        return user

    return make


@pytest.fixture
def operator(make_user):
    return make_user("olga", "Operators")


@pytest.fixture
def staff(operator):
    """The operator as the actor of a service call."""
    return Actor.user(operator)


@pytest.fixture
def supervisor(make_user):
    return make_user("sam", "Supervisors", is_staff=True)


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language: a request through LocaleMiddleware activates
    its language in this thread and nothing resets it afterwards."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def priced_shop(sim, settings, supervisor):
    """The books as in production: a cash session required to sell, the catalog synced from the
    simulator, a shop-wide card price of cost + 20 DA, and a flexy fee of 12.50 DA on Djezzy."""
    from topups.models import PriceMode
    from topups.services import pricing
    from topups.services.actors import Actor

    settings.TILL_REQUIRED = True
    assert catalog.sync_catalog().ok
    pricing.set_rule(line_type="", value=0, mode=PriceMode.MARGIN, amount="20", actor=Actor.user(supervisor))
    pricing.set_rule(line_type="", value=0, operator="Djezzy", mode=PriceMode.MARGIN, amount="12.50",
                     actor=Actor.user(supervisor))
    return sim


@pytest.fixture
def counter(priced_shop, client, operator):
    """A cashier at the counter selling mobile top-ups: the shop as in production (priced_shop), the
    mobile plans cached from the simulator, a cash session open, logged in."""
    from topups.lines.mobile import plans as mobile
    from topups.services import tills
    from topups.services.actors import Actor

    assert mobile.sync_plans().ok
    tills.open_till(actor=Actor.user(operator), opening_cash="0")
    client.force_login(operator)
    return priced_shop


def printed_text(html: str) -> str:
    """A receipt's text without its markup: the card code is printed in groups of four (one element
    each), so a test looks for the code in this, not in the HTML."""
    import re

    return re.sub(r"<[^>]+>", "", html)
