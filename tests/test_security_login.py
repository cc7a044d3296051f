"""Login throttling (django-axes): 5 wrong passwords for a username from one address lock that
pair out for 15 minutes, with the reason on the login page; other users are not affected."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def throttling_on(settings):
    settings.AXES_ENABLED = True  # off in settings_test for client.login(); on in production


def login(client, username, password, ip="10.1.1.1", url=None):
    return client.post(url or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_five_failures_lock_even_the_right_password_out(client, operator):
    for _ in range(4):
        response = login(client, "olga", "wrong")
        assert response.status_code == 200 and "Please enter a correct username" in response.content.decode()
    response = login(client, "olga", "wrong")
    assert response.status_code == 429
    response = login(client, "olga", "pw-olga")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed attempts" in page and "15 minutes" in page
    assert "_auth_user_id" not in client.session


def test_other_users_and_other_addresses_are_not_affected(client, operator, supervisor):
    for _ in range(5):
        login(client, "olga", "wrong")
    assert login(client, "sam", "pw-sam").status_code == 302  # another user, same address
    client.logout()
    assert login(client, "olga", "pw-olga", ip="10.2.2.2").status_code == 302  # same user, elsewhere


def test_the_admin_login_is_throttled_too(client, supervisor):
    url = reverse("admin:login")
    for _ in range(5):
        login(client, "sam", "wrong", url=url)
    response = login(client, "sam", "pw-sam", url=url)
    assert response.status_code == 429 and "Too many failed attempts" in response.content.decode()


def test_the_message_is_translated(client, operator):
    for _ in range(5):
        login(client, "olga", "wrong")
    client.cookies["django_language"] = "fr"
    page = login(client, "olga", "pw-olga").content.decode()
    assert '<html lang="fr"' in page  # the page follows the language; the message goes through gettext


def test_a_success_resets_the_count(client, operator):
    for _ in range(4):
        login(client, "olga", "wrong")
    assert login(client, "olga", "pw-olga").status_code == 302
    client.logout()
    for _ in range(4):
        login(client, "olga", "wrong")
    assert login(client, "olga", "pw-olga").status_code == 302


def test_behind_the_proxy_the_forwarded_address_counts(client, operator, settings):
    settings.BEHIND_PROXY = True
    for _ in range(5):
        client.post(reverse("login"), {"username": "olga", "password": "wrong"}, REMOTE_ADDR="10.0.0.2",
                    HTTP_X_FORWARDED_FOR="198.51.100.7")
    # Same proxy, another shop computer: not locked out.
    response = client.post(reverse("login"), {"username": "olga", "password": "pw-olga"}, REMOTE_ADDR="10.0.0.2",
                           HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert response.status_code == 302
