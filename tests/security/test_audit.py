"""Every card code shown in full leaves one audit row per order per view (pages, lists, the home
page, the admin), polling writes no row per poll, and responses carrying codes are never cached."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import place
from topups.models import AuditEvent, Order, OrderStatus

pytestmark = pytest.mark.django_db
S = OrderStatus
CODE = "987654321098"


def fulfil(order: Order, code: str = CODE) -> None:
    Order.objects.filter(pk=order.pk).update(status=S.FULFILLED, card_code=code)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reveals(**filters) -> list[tuple]:
    rows = AuditEvent.objects.filter(action="reveal_code", **filters).order_by("id")
    return [(row.actor_id, row.target, row.detail["via"]) for row in rows]


def test_the_orders_list_audits_every_code_it_shows_in_full(supervisor, make_user):
    owner = make_user("owner", "Operators")
    shown, waiting = place(owner, "036362601"), place(owner, "036362602")
    fulfil(shown)
    body = login(supervisor).get(reverse("topups:orders")).content.decode()
    assert CODE in body
    assert reveals() == [(supervisor.pk, shown.ref, "orders list")]  # one row; the unsent order has no code
    login(owner).get(reverse("topups:orders"))
    assert len(reveals(actor=owner)) == 1  # the owner sees their own code: audited too
    assert waiting.ref not in {target for _actor, target, _via in reveals()}


def test_the_home_page_audits_the_recent_orders_codes(operator):
    order = place(operator)
    fulfil(order)
    assert CODE in login(operator).get(reverse("topups:home")).content.decode()
    assert reveals() == [(operator.pk, order.ref, "home page")]


def test_a_masked_code_is_no_reveal(operator, make_user):
    order = place(make_user("owner", "Operators"))
    fulfil(order)
    client = login(operator)
    for url in (reverse("topups:orders"), reverse("topups:order", args=[order.pk]),
                reverse("topups:order_status", args=[order.pk]), reverse("topups:order_statuses") + f"?id={order.pk}"):
        assert CODE not in client.get(url).content.decode()
    assert reveals() == []


def test_a_page_and_its_polling_write_one_row_per_reveal(operator):
    """The order page is opened while processing, polls until the code arrives, keeps polling:
    one row for the code's arrival, none per poll after it. Opening the page again is a new view."""
    order = place(operator)
    Order.objects.filter(pk=order.pk).update(status=S.HANDLING)
    client = login(operator)
    client.get(reverse("topups:order", args=[order.pk]))
    status_url = reverse("topups:order_status", args=[order.pk])
    assert client.get(status_url).json()["card_code"] == ""
    fulfil(order)
    for _ in range(16):
        assert client.get(status_url).json()["card_code"] == CODE
        assert client.get(reverse("topups:order_statuses") + f"?id={order.pk}").json()["orders"][0]["card_code"] == CODE
    assert reveals() == [(operator.pk, order.ref, "status.json")]
    client.get(reverse("topups:order", args=[order.pk]))
    client.get(reverse("topups:order_receipt", args=[order.pk]))
    assert reveals()[1:] == [(operator.pk, order.ref, "order page"), (operator.pk, order.ref, "receipt")]
    # Another session (another browser) being shown the code is a new reveal.
    login(operator).get(status_url)
    assert len(reveals()) == 4


def test_responses_that_carry_codes_are_never_cached(supervisor):
    order = place(supervisor)
    fulfil(order)
    client = login(supervisor)
    for url in (reverse("topups:home"), reverse("topups:orders"), reverse("topups:order", args=[order.pk]),
                reverse("topups:order_status", args=[order.pk]), reverse("topups:order_statuses") + f"?id={order.pk}",
                reverse("topups:order_receipt", args=[order.pk]), reverse("topups:order_export"),
                reverse("admin:topups_order_change", args=[order.pk]), reverse("admin:topups_order_changelist")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], url


def test_a_session_ends_after_a_shift_without_use(client, operator, settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    client.force_login(operator)
    key = client.session.session_key
    # Idle for most of a shift: the next request pushes the expiry back a whole shift.
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + timedelta(minutes=1))
    session = client.session
    session["_seen"] = 0
    session.save()
    assert client.get(reverse("topups:home")).status_code == 200
    expiry = Session.objects.get(pk=key).expire_date
    assert timedelta(hours=7, minutes=55) < expiry - timezone.now() <= timedelta(hours=8)
    # Idle past it: logged out.
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("topups:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_exports_audit_each_code_they_carry_in_full(supervisor, make_user, monkeypatch):
    from django.contrib.auth.models import Permission

    from topups.models import Batch
    from topups.services import audit

    monkeypatch.setattr(audit, "EXPORT_CHUNK", 2)  # several chunks: one INSERT each
    owner = make_user("owner", "Operators")
    shown = [place(owner, f"03636260{i}") for i in range(3)]
    for i, order in enumerate(shown):
        fulfil(order, f"98765432109{i}")
    place(owner, "036362609")  # no code yet: nothing to reveal
    client = login(supervisor)
    body = b"".join(client.get(reverse("topups:order_export")).streaming_content).decode("utf-8-sig")
    assert all(f"98765432109{i}" in body for i in range(3))
    assert sorted(reveals()) == sorted((supervisor.pk, o.ref, "orders.csv") for o in shown)
    b"".join(client.post(reverse("admin:topups_order_changelist"),
                         {"action": "export_selected_csv", "_selected_action": [shown[0].pk]}).streaming_content)
    assert reveals()[-1] == (supervisor.pk, shown[0].ref, "admin export") and len(reveals()) == 4
    batch = Batch.objects.create(file_name="f.csv", created_by=owner)
    b"".join(client.get(reverse("topups:batch_results", args=[batch.pk])).streaming_content)
    assert len(reveals()) == 4  # an empty batch reveals nothing
    exporter = make_user("exporter")
    exporter.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "export_order"]))
    masked = b"".join(login(exporter).get(reverse("topups:order_export")).streaming_content).decode("utf-8-sig")
    assert "987654321090" not in masked and len(reveals()) == 4  # masked codes are no reveal


@pytest.mark.parametrize(("behind_proxy", "expected"), [(True, "203.0.113.7"), (False, "10.0.0.2")])
def test_audit_rows_record_the_client_address_by_the_login_throttle_rule(operator, settings, behind_proxy,
                                                                         expected):
    """Behind the documented proxy every request comes from the proxy: the row must carry the
    forwarded address, as the login throttle does."""
    from topups.http import client_ip

    settings.BEHIND_PROXY = behind_proxy
    order = place(operator)
    fulfil(order)
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7")
    client.force_login(operator)
    assert client.get(reverse("topups:order", args=[order.pk])).status_code == 200
    row = AuditEvent.objects.get(action="reveal_code", target=order.ref)
    assert row.ip_address == expected == client_ip(client.get(reverse("topups:home")).wsgi_request)


def test_status_polling_is_answered_304_while_nothing_changed(operator, make_user):
    order = place(operator)
    client = login(operator)
    url = reverse("topups:order_status", args=[order.pk])
    first = client.get(url)
    assert first.status_code == 200 and first["ETag"]
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == first["ETag"]
    fulfil(order)
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed.json()["card_code"] == CODE
    assert changed["ETag"] != first["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304
    assert reveals(target=order.ref) == [(operator.pk, order.ref, "status.json")]  # one row, not one per poll
    # Another session holding the tag still gets the full answer (and its own audit row).
    other = login(make_user("vera", "Supervisors", is_staff=True))
    assert other.get(url, HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 200
    assert len(reveals(target=order.ref)) == 2
