"""The dashboard says when the API cannot be reached: what failed, since when, the URL called (the
set-up of ``make run SIM_PORT=8499`` with the app still calling 8099 blocked every sale silently).
Once the API answers again, the banner goes."""

from __future__ import annotations

import pytest

from tests.processes import free_port
from topups.lines.internet import catalog
from topups.services import account, tills
from topups.services.actors import Actor

from .pages import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_banner_when_the_api_cannot_be_reached(page, live_server, sim, simulator_server, settings, operator, language, shot):
    from django.core.cache import cache

    from topups.services import preferences

    preferences.save_language(user=operator, language=language)
    tills.open_till(actor=Actor.user(operator), opening_cash="0")
    dead = f"http://127.0.0.1:{free_port()}/v3"  # nothing listens there
    settings.ONECLICKDZ_API_URL = dead
    account.reset_client()
    log_in(page, live_server)
    banner = page.locator("#api-unreachable")
    assert banner.is_visible()
    text = banner.inner_text()
    assert dead in text
    assert {"en": "connection refused", "fr": "connexion refusée", "ar": "رفض الاتصال"}[language] in text
    assert {"en": "since", "fr": "depuis", "ar": "منذ"}[language] in text
    shot(page, f"api-unreachable-{language}")

    # The API answers again (the balance schedule reaches it): the banner goes.
    settings.ONECLICKDZ_API_URL = simulator_server.url
    account.reset_client()
    cache.delete(catalog.FIRST_USE_LOCK)
    account.refresh_account()
    page.reload()
    assert page.locator("#api-unreachable").count() == 0
