"""Card codes masked wherever the user may not see them, the API key never shown or logged, and the
audit trail of codes revealed, exports and refreshes."""

from __future__ import annotations

import csv
import io
import logging
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client, override_settings
from django.urls import reverse

from tests.conftest import printed_text
from topups.lines.internet import catalog
from topups.models import AuditEvent, Order, OrderEvent, OrderStatus
from topups.oneclick import errors as api_errors
from topups.oneclick import mask_code
from topups.services import orders, sending, sync
from topups.services.account import get_client
from topups.services.actors import Actor

pytestmark = pytest.mark.django_db
S = OrderStatus
CODE = "987654321098"


def fulfilled(user, number="036362600") -> Order:
    order, _ = orders.create_order(line_type="ADSL", number=number, value=Decimal(1000), actor=Actor.user(user))
    Order.objects.filter(pk=order.pk).update(status=S.FULFILLED, card_code=CODE, num_trans="T-1")
    order.refresh_from_db()
    return order


@pytest.fixture
def others_order(make_user):
    return fulfilled(make_user("owner", "Operators"))


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# Masking ------------------------------------------------------------------------------------------


def test_an_operator_never_sees_another_staff_members_code(operator, others_order):
    client = login(operator)
    masked = mask_code(CODE)
    pages = {
        "order": client.get(reverse("topups:order", args=[others_order.pk])),
        "receipt": client.get(reverse("topups:order_receipt", args=[others_order.pk])),
        "list": client.get(reverse("topups:orders")),
        "status": client.get(reverse("topups:order_status", args=[others_order.pk])),
        "statuses": client.get(reverse("topups:order_statuses") + f"?id={others_order.pk}"),
    }
    for name, response in pages.items():
        body = response.content.decode()
        assert response.status_code == 200, name
        assert CODE not in body, name
    assert masked in pages["order"].content.decode()
    assert pages["status"].json()["card_code"] == masked
    assert pages["statuses"].json()["orders"][0]["card_code"] == masked
    assert AuditEvent.objects.filter(action="reveal_code").count() == 0  # nothing was revealed


def test_an_operator_sees_their_own_code_and_it_is_audited(operator):
    order = fulfilled(operator)
    client = login(operator)
    assert CODE in client.get(reverse("topups:order", args=[order.pk])).content.decode()
    assert CODE in printed_text(client.get(reverse("topups:order_receipt", args=[order.pk])).content.decode())
    events = list(AuditEvent.objects.filter(action="reveal_code").order_by("id"))
    assert [(e.actor_id, e.target, e.detail["via"]) for e in events] == [
        (operator.pk, order.ref, "order page"), (operator.pk, order.ref, "receipt")]
    assert events[0].ip_address == "127.0.0.1"


def test_csv_export_masks_codes_without_the_permission(make_user, others_order):
    exporter = make_user("exporter")
    exporter.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "export_order"]))
    response = login(exporter).get(reverse("topups:order_export"))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    # One column layout for every orders export (dashboard and admin): the code by its header.
    assert CODE not in body and rows[1][rows[0].index("Card code")] == mask_code(CODE)
    event = AuditEvent.objects.get(action="export")
    assert event.actor_id == exporter.pk and event.detail["rows"] == 1 and event.detail["full_codes"] is False


def test_export_audit_records_the_filters(supervisor, others_order):
    response = login(supervisor).get(reverse("topups:order_export") + "?status=fulfilled&date_from=2026-01-01")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert CODE in body  # supervisors see every code
    event = AuditEvent.objects.get(action="export")
    assert event.detail["filters"]["status"] == "fulfilled" and event.detail["filters"]["date_from"] == "2026-01-01"
    assert event.detail["full_codes"] is True


def test_admin_masks_codes_in_the_change_page_and_list(make_user, others_order):
    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "change_order"]))
    client = login(viewer)
    for url in (reverse("admin:topups_order_change", args=[others_order.pk]),
                reverse("admin:topups_order_changelist"),
                reverse("admin:topups_order_history", args=[others_order.pk])):
        response = client.get(url)
        assert response.status_code == 200 and CODE not in response.content.decode(), url
    # Codes are not searchable (a search would tell whether a code exists).
    assert "0 results" in client.get(reverse("admin:topups_order_changelist") + f"?q={CODE}").content.decode()


def test_admin_export_action_masks_codes_without_the_permission(make_user, others_order):
    exporter = make_user("admin-exporter", is_staff=True)
    exporter.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "export_order"]))
    response = login(exporter).post(reverse("admin:topups_order_changelist"),
                                    {"action": "export_selected_csv", "_selected_action": [others_order.pk]})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert CODE not in body and mask_code(CODE) in body


def test_event_payloads_never_hold_a_full_code(sim, supervisor):
    catalog.sync_catalog()
    order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000),
                                   actor=Actor.user(supervisor))
    sending.send_order(order_id=order.pk, actor=Actor.user(supervisor))
    sim.advance(5)
    sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=Actor.user(supervisor))
    order.refresh_from_db()
    assert order.status == S.FULFILLED and len(order.card_code) > 4
    for event in OrderEvent.objects.filter(order=order):
        assert order.card_code not in str(event.payload) and order.card_code not in event.note


def test_refresh_now_is_audited(sim, operator):
    catalog.sync_catalog()
    order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000),
                                   actor=Actor.user(operator))
    sending.send_order(order_id=order.pk, actor=Actor.user(operator))
    login(operator).post(reverse("topups:order_refresh", args=[order.pk]))
    event = AuditEvent.objects.get(action="refresh")
    assert event.actor_id == operator.pk and event.target == order.ref


def test_audit_trail_is_read_only_in_the_admin_and_visible_to_supervisors(supervisor):
    AuditEvent.objects.create(action="export", actor=supervisor, actor_label="sam", target="orders.csv")
    client = login(supervisor)
    page = client.get(reverse("admin:topups_auditevent_changelist"))
    assert page.status_code == 200 and "orders.csv" in page.content.decode()
    assert client.get(reverse("admin:topups_auditevent_add")).status_code == 403
    event = AuditEvent.objects.get()
    assert client.post(reverse("admin:topups_auditevent_change", args=[event.pk]), {"action": "x"}).status_code == 403
    assert client.post(reverse("admin:topups_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403


# The API key --------------------------------------------------------------------------------------

SECRET = "sk-live-DISTINCTIVE-7f3a9c"


def test_the_key_setting_is_hidden_by_django_error_reports():
    from django.views.debug import SafeExceptionReporterFilter

    assert SafeExceptionReporterFilter().get_safe_settings()["ONECLICKDZ_API_KEY"] != SECRET


def test_the_key_appears_in_no_page(settings, supervisor, make_user, others_order):
    settings.ONECLICKDZ_API_KEY = SECRET
    root = make_user("root", is_staff=True, is_superuser=True)
    from topups.models import ApiAccount

    account = ApiAccount.objects.create(key_fingerprint="0123456789abcdef", username="shop", key_type="SANDBOX")
    for user in (supervisor, root):
        client = login(user)
        for url in (reverse("topups:home"), reverse("topups:orders"), reverse("topups:new_order"),
                    reverse("topups:order", args=[others_order.pk]), reverse("admin:index"),
                    reverse("admin:topups_apiaccount_changelist"),
                    reverse("admin:topups_apiaccount_change", args=[account.pk]),
                    reverse("admin:topups_order_change", args=[others_order.pk]), "/no-such-page/"):
            response = client.get(url)
            assert SECRET not in response.content.decode(), url


@override_settings(DEBUG=False, DEBUG_PROPAGATE_EXCEPTIONS=False)
def test_the_error_page_shows_no_key(settings, operator, monkeypatch):
    settings.ONECLICKDZ_API_KEY = SECRET

    def explode(*args, **kwargs):
        raise RuntimeError(f"boom with {settings.ONECLICKDZ_API_KEY[:0]}")

    monkeypatch.setattr("topups.selectors.account_state", explode)
    client = Client(raise_request_exception=False)
    client.force_login(operator)
    response = client.get(reverse("topups:home"))
    body = response.content.decode()
    assert response.status_code == 500 and "Something went wrong" in body and SECRET not in body
    assert "Traceback" not in body and "ONECLICKDZ" not in body


def test_a_refused_key_is_never_logged(sim, settings, caplog):
    settings.ONECLICKDZ_API_KEY = SECRET  # the simulator only knows test-key-0000: a refusal
    from topups.services import account

    account.reset_client()
    caplog.set_level(logging.DEBUG)
    with pytest.raises(api_errors.AuthError):
        account.fetch_balance()
    with pytest.raises(api_errors.OneClickError):  # refused again, without calling
        get_client().balance()
    logged = "\n".join(r.getMessage() + str(r.args) + str(getattr(r, "exc_text", "")) for r in caplog.records)
    assert caplog.records, "the refusal should be logged"
    assert SECRET not in logged and SECRET not in caplog.text


def test_every_csv_export_is_audited(sim, supervisor, client):
    """The dashboard export, the admin's export action and a batch's results each leave a row."""
    from topups.models import Batch

    client.force_login(supervisor)
    order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000),
                                   actor=Actor.user(supervisor))
    batch = Batch.objects.create(file_name="orders.csv", created_by=supervisor)
    b"".join(client.get(reverse("topups:order_export")).streaming_content)
    b"".join(client.post(reverse("admin:topups_order_changelist"),
                         {"action": "export_selected_csv", "_selected_action": [order.pk]}).streaming_content)
    b"".join(client.get(reverse("topups:batch_results", args=[batch.pk])).streaming_content)
    targets = list(AuditEvent.objects.filter(action="export", actor=supervisor).values_list("target", flat=True))
    assert sorted(targets) == sorted(["orders.csv", "admin: selected orders", f"batch {batch.pk} results"])
    assert Order.objects.count() == 1
