"""Production headers and cookies, the Content Security Policy, and pages that respect it."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import django
import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from tests.factories import place
from topups.models import Batch, OrderStatus

pytestmark = pytest.mark.django_db

# What production (DEBUG off, HTTPS on) sets; settings_test only turns the HTTPS parts off.
PRODUCTION = {
    "DEBUG": False, "SECURE_SSL_REDIRECT": True, "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
}


@override_settings(**PRODUCTION)
def test_production_headers_and_cookies(client, supervisor):
    secure = {"secure": True, "headers": {"host": "topups.example.dz"}}
    with override_settings(ALLOWED_HOSTS=["topups.example.dz"]):
        assert client.get("/login/", headers={"host": "topups.example.dz"}).status_code == 301  # to HTTPS
        response = client.get("/login/", **secure)
        assert response.status_code == 200
        assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        csrf = response.cookies[settings.CSRF_COOKIE_NAME]
        assert csrf["secure"] and csrf["httponly"] and csrf["samesite"] == "Lax"

        client.force_login(supervisor)
        response = client.get("/", **secure)
        session = response.cookies.get(settings.SESSION_COOKIE_NAME) or client.cookies[settings.SESSION_COOKIE_NAME]
        assert settings.SESSION_COOKIE_SECURE and settings.SESSION_COOKIE_HTTPONLY
        assert settings.SESSION_COOKIE_SAMESITE == "Lax"
        assert session.value


def test_production_settings_turn_https_on_when_debug_is_off():
    # settings_test turns three of them off for the plain-HTTP test client; the rest is production's.
    assert settings.SECURE_HSTS_SECONDS >= 31536000 and settings.SECURE_CONTENT_TYPE_NOSNIFF
    assert settings.CSRF_COOKIE_HTTPONLY and settings.X_FRAME_OPTIONS == "DENY"


def csp_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_content_security_policy(client, operator):
    client.force_login(operator)
    policy = csp_of(client.get("/"))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"] and "'self'" in policy["style-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]


def test_the_admin_changelist_style_hash_matches_django():
    """The one inline <style> of admin/change_list.html is allowed by its hash: if Django changes
    the block, this fails and the hash in settings must be updated."""
    source = (Path(django.__file__).parent / "contrib/admin/templates/admin/change_list.html").read_text()
    block = re.search(r"<style>(.*?)</style>", source, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
    assert settings.ADMIN_CHANGELIST_STYLE_HASH == f"'sha256-{digest}'"


# Pages without inline script or style ------------------------------------------------------------

INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def inline_problems(html: str) -> list[str]:
    return [f"{label}: {m.group(0)!r}" for pattern, label in INLINE for m in pattern.finditer(html)]


@pytest.fixture
def pages(client, supervisor, operator):
    order = place(operator, status=OrderStatus.FULFILLED, card_code="123456789012", num_trans="T-1")
    batch = Batch.objects.create(file_name="orders.csv", created_by=supervisor)
    client.force_login(supervisor)
    return client, order, batch


def test_dashboard_pages_have_no_inline_script_or_style(pages, sim):
    client, order, batch = pages
    urls = [
        reverse("topups:home"), reverse("topups:orders"), reverse("topups:new_order"),
        reverse("topups:order", args=[order.pk]), reverse("topups:order_receipt", args=[order.pk]),
        reverse("topups:order_receipt", args=[order.pk]) + "?width=58",
        reverse("topups:batches"), reverse("topups:batch_new"), reverse("topups:batch", args=[batch.pk]),
        "/no-such-page/",
    ]
    problems = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 404), url
        found = inline_problems(response.content.decode())
        if found:
            problems[url] = found
    client.logout()
    found = inline_problems(client.get(reverse("login")).content.decode())
    if found:
        problems["login"] = found
    assert not problems, problems


def test_receipt_paper_width_comes_from_a_stylesheet(pages):
    client, order, _batch = pages
    for width in ("58", "80"):
        html = client.get(reverse("topups:order_receipt", args=[order.pk]) + f"?width={width}").content.decode()
        assert f"topups/receipt-{width}mm.css" in html and f"w{width}" in html


def test_our_admin_pages_have_no_inline_style(pages, sim):
    """Our own admin templates and display functions; Django's own blocks are covered by the hash."""
    client, order, _batch = pages
    for url in (reverse("admin:topups_order_changelist"), reverse("admin:topups_product_changelist")):
        html = client.get(url).content.decode()
        html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)  # Django's hashed block, if any
        assert not [p for p in inline_problems(html) if "style" in p], (url, inline_problems(html))
    assert 'class="status-badge fulfilled"' in client.get(reverse("admin:topups_order_changelist")).content.decode()


def test_every_form_carries_a_csrf_token(pages, sim):
    client, order, batch = pages
    for url in (reverse("topups:new_order"), reverse("topups:order", args=[order.pk]),
                reverse("topups:batch_new"), reverse("topups:home")):
        html = client.get(url).content.decode()
        for form in re.findall(r"<form\b[^>]*>.*?</form>", html, re.S | re.I):
            if re.search(r'method="post"', form, re.I):
                assert "csrfmiddlewaretoken" in form, (url, form[:200])


def test_posts_without_the_token_are_refused(operator):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post(reverse("topups:new_order"), {}).status_code == 403
    assert client.post(reverse("logout")).status_code == 403
