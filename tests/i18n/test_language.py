"""The chosen language is remembered for the user, across browsers, and the admin follows it."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password="pw-" + user.username)
    return client


def test_language_follows_the_user_to_another_browser(sim, supervisor):
    first = login(supervisor)
    first.post(reverse("set_language"), {"language": "ar", "next": "/"})
    assert 'dir="rtl"' in first.get(reverse("topups:home")).content.decode()

    other_browser = login(supervisor)  # no language cookie there
    page = other_browser.get(reverse("topups:home")).content.decode()
    assert 'lang="ar"' in page and 'dir="rtl"' in page
    admin_page = other_browser.get(reverse("admin:index")).content.decode()
    assert 'dir="rtl"' in admin_page


def test_saved_language_beats_the_browser_header(sim, operator):
    client = login(operator)
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    fresh = login(operator)
    page = fresh.get(reverse("topups:home"), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert 'lang="fr"' in page


def test_unknown_language_is_ignored(sim, operator):
    client = login(operator)
    response = client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    assert response.status_code == 302
    assert 'lang="en"' in login(operator).get(reverse("topups:home")).content.decode()
