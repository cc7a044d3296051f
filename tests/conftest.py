"""Shared fixtures: the API simulator over real HTTP, users of each role, settings for the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from topups.oneclick.simulator.testing import serve_in_thread
from topups.services import account

TEST_KEY = "test-key-0000"
(Path(__file__).resolve().parent.parent / "test-artifacts").mkdir(exist_ok=True)


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
    yield simulator
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
def supervisor(make_user):
    return make_user("sam", "Supervisors", is_staff=True)


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language: a request through LocaleMiddleware activates
    its language in this thread and nothing resets it afterwards."""
    from django.utils import translation

    with translation.override("en"):
        yield
