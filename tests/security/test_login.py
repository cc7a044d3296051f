"""Login throttling (django-axes): 5 wrong passwords for a username from one address lock that
pair out for 15 minutes, with the reason on the login page; other users are not affected. 20 from
any addresses lock the account itself; supervisors unlock it in the admin."""

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


# Per account, across addresses --------------------------------------------------------------------


def test_many_addresses_lock_the_account_everywhere(client, supervisor, settings):
    """5 tries per address no longer adds up without bound: 20 failures from any addresses lock
    the account, the right password included, from a fresh address too."""
    for i in range(settings.LOGIN_ACCOUNT_FAILURE_LIMIT):
        response = login(client, "sam", "wrong", ip=f"203.0.113.{i // 4 + 1}")  # 4 tries per address
        assert response.status_code in (200, 429)
    response = login(client, "sam", "pw-sam", ip="198.51.100.99")
    assert response.status_code == 429
    page = response.content.decode()
    assert "on this account, from several places" in page and "A supervisor can unlock it" in page
    assert "_auth_user_id" not in client.session
    assert login(client, "olga-not-locked", "x", ip="198.51.100.99").status_code == 200  # others unaffected


def test_below_the_account_threshold_other_addresses_still_log_in(client, operator):
    for i in range(4):
        login(client, "olga", "wrong", ip=f"203.0.113.{i + 1}")
    assert login(client, "olga", "pw-olga", ip="198.51.100.1").status_code == 302


def test_a_supervisor_unlocks_a_colleague_in_the_admin(client, operator, supervisor):
    from axes.models import AccessAttempt
    from django.test import Client

    for _ in range(5):
        login(client, "olga", "wrong")
    assert login(client, "olga", "pw-olga").status_code == 429
    assert not supervisor.is_superuser
    admin = Client()
    admin.force_login(supervisor)
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert "olga" in admin.get(changelist).content.decode()
    attempts = list(AccessAttempt.objects.filter(username="olga").values_list("pk", flat=True))
    response = admin.post(changelist, {"action": "delete_selected", "_selected_action": attempts, "post": "yes"})
    assert response.status_code == 302 and not AccessAttempt.objects.filter(username="olga").exists()
    assert login(client, "olga", "pw-olga").status_code == 302
