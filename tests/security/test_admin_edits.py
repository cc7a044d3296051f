"""The admin: no filter on sensitive fields, what was ordered never changes, other edits write
only their fields and are recorded with old and new values, "add" goes through the creation
service and its checks, django-q2's admin is read-only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from topups.admin.orders import OrderAdmin
from topups.lines.internet import catalog
from topups.models import AuditEvent, Order, OrderEvent, OrderStatus
from topups.oneclick import mask_code
from topups.services import orders, sending, sync
from topups.services.actors import Actor

pytestmark = pytest.mark.django_db
S = OrderStatus
CODE = "987654321098"
CHANGELIST = reverse("admin:topups_order_changelist")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def new_order(user, number="036362600", value=1000) -> Order:
    return orders.create_order(line_type="ADSL", number=number, value=Decimal(value), actor=Actor.user(user))[0]


INLINE = {"events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0", "events-MIN_NUM_FORMS": "0",
          "events-MAX_NUM_FORMS": "1000"}  # the history inline's management form


def change_data(order: Order, **overrides) -> dict:
    """The change form as the page posts it."""
    return {"line_type": order.line_type, "number": order.number, "value": str(order.value), "note": order.note,
            **INLINE, **overrides}


def add(client, **data):
    return client.post(reverse("admin:topups_order_add"), {**INLINE, **data})


@pytest.fixture
def viewer(make_user):
    """Staff who may open orders in the admin but not see other people's codes."""
    user = make_user("viewer", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "change_order"]))
    return user


@pytest.fixture
def others_fulfilled(make_user):
    order = new_order(make_user("owner", "Operators"))
    Order.objects.filter(pk=order.pk).update(status=S.FULFILLED, card_code=CODE)
    return order


# Lookups on sensitive fields ----------------------------------------------------------------------


@pytest.mark.parametrize("lookup", ["card_code__startswith=9", "card_code=" + CODE, "card_code__regex=^9",
                                    "card_code_digest__startswith=a", "card_code__in=" + CODE])
def test_a_filter_on_the_card_code_is_refused(viewer, others_fulfilled, lookup):
    response = login(viewer).get(f"{CHANGELIST}?{lookup}")
    assert response.status_code == 400
    assert CODE not in response.content.decode()


def test_a_filter_on_the_code_through_a_relation_is_refused(supervisor, others_fulfilled):
    response = login(supervisor).get(reverse("admin:topups_batch_changelist") + "?orders__card_code__startswith=9")
    assert response.status_code == 400


def test_the_code_cannot_be_recovered_digit_by_digit(viewer, others_fulfilled):
    client = login(viewer)
    answers = {digit: client.get(f"{CHANGELIST}?card_code__startswith={digit}").status_code for digit in "0123456789"}
    assert set(answers.values()) == {400}  # every probe refused alike: nothing to tell the digits apart


# The change form ---------------------------------------------------------------------------------


def test_type_number_and_value_cannot_change_after_creation(supervisor):
    order = new_order(supervisor)
    client = login(supervisor)
    response = client.post(reverse("admin:topups_order_change", args=[order.pk]),
                           change_data(order, line_type="4G", number="213665983439", value="-500", note="n"))
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.line_type, order.number, order.value, order.note) == ("ADSL", "036362600", Decimal(1000), "n")
    page = client.get(reverse("admin:topups_order_change", args=[order.pk])).content.decode()
    assert 'name="number"' not in page and 'name="value"' not in page and 'name="note"' in page


def test_a_note_edit_is_an_order_event_and_an_audit_row_with_old_and_new(supervisor):
    order = new_order(supervisor)
    Order.objects.filter(pk=order.pk).update(note="first")
    login(supervisor).post(reverse("admin:topups_order_change", args=[order.pk]), change_data(order, note="second"))
    event = OrderEvent.objects.filter(order=order).latest("id")
    assert event.actor_id == supervisor.pk and event.from_status == event.to_status == S.NEW
    assert event.payload == {"edited": {"note": ["first", "second"]}} and "first" in event.note
    row = AuditEvent.objects.get(action="edit_order")
    assert row.target == order.ref and row.actor_id == supervisor.pk
    assert row.detail == {"changes": {"note": ["first", "second"]}}


def test_a_note_edit_racing_a_sync_keeps_the_fulfilled_status_and_code(sim, supervisor, monkeypatch):
    """Forced interleaving: the change form loads the order while it is processing, the status sync
    delivers its code, then the supervisor's note is saved."""
    assert catalog.sync_catalog().ok
    order = new_order(supervisor)
    sending.send_order(order_id=order.pk, actor=Actor.user(supervisor))
    assert Order.objects.get(pk=order.pk).status == S.HANDLING
    loaded = OrderAdmin.get_object

    def load_then_sync(self, request, object_id, from_field=None):
        obj = loaded(self, request, object_id, from_field)  # the page's copy: processing, no code
        if request.method == "POST":
            sim.advance(10)
            sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=Actor("status sync"))
            assert Order.objects.get(pk=order.pk).status == S.FULFILLED
        return obj

    monkeypatch.setattr(OrderAdmin, "get_object", load_then_sync)
    response = login(supervisor).post(reverse("admin:topups_order_change", args=[order.pk]),
                                      change_data(order, note="customer paid cash"))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == S.FULFILLED and order.card_code and order.note == "customer paid cash"
    assert order.card_code_digest  # the digest written with the code survives too


# Adding ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "message"), [("-1000", "The value must be positive"),
                                                ("750", "No card of this value"), ("5000", "No card of this value")])
def test_add_refuses_values_outside_the_catalog(sim, supervisor, value, message):
    assert catalog.sync_catalog().ok  # the simulator's catalog: 5000 DA ADSL is out of stock
    response = add(login(supervisor), line_type="ADSL", number="036362600", value=value, note="")
    assert response.status_code == 200 and message in response.content.decode()
    assert not Order.objects.exists()


def test_add_goes_through_the_creation_service(sim, supervisor):
    assert catalog.sync_catalog().ok
    response = add(login(supervisor), line_type="4G", number="0665 98 34 39", value="1500", note="x")
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.number == "213665983439" and order.created_by == supervisor and order.status == S.NEW
    assert order.cost is not None and order.ref.startswith("OC-")
    assert OrderEvent.objects.filter(order=order, to_status=S.NEW, actor=supervisor).exists()
    bad = add(login(supervisor), line_type="ADSL", number="12ab", value="1000", note="")
    assert bad.status_code == 200 and "9 digits" in bad.content.decode() and Order.objects.count() == 1


# Reveals in the admin -----------------------------------------------------------------------------


def test_the_admin_change_page_audits_the_code_it_shows(supervisor, viewer, others_fulfilled):
    page = login(supervisor).get(reverse("admin:topups_order_change", args=[others_fulfilled.pk]))
    assert CODE in page.content.decode() and "no-store" in page["Cache-Control"]
    row = AuditEvent.objects.get(action="reveal_code")
    assert (row.actor_id, row.target, row.detail["via"]) == (supervisor.pk, others_fulfilled.ref, "admin")
    masked = login(viewer).get(reverse("admin:topups_order_change", args=[others_fulfilled.pk])).content.decode()
    assert CODE not in masked and mask_code(CODE) in masked
    assert AuditEvent.objects.filter(action="reveal_code").count() == 1  # a masked code is no reveal


# django-q2 ---------------------------------------------------------------------------------------


def test_django_q_schedules_and_tasks_are_read_only_even_for_a_superuser(make_user):
    from django_q.models import Schedule

    root = make_user("root", is_staff=True, is_superuser=True)
    client = login(root)
    schedule = Schedule.objects.create(name="balance", func="topups.tasks.refresh_balance")
    add = client.post(reverse("admin:django_q_schedule_add"), {"name": "x", "func": "subprocess.getoutput",
                                                                 "args": "'id'", "schedule_type": "O"})
    assert add.status_code == 403 and not Schedule.objects.filter(func="subprocess.getoutput").exists()
    change = client.post(reverse("admin:django_q_schedule_change", args=[schedule.pk]),
                         {"name": "balance", "func": "os.getenv", "args": "'ONECLICKDZ_API_KEY'", "schedule_type": "O"})
    assert change.status_code == 403
    assert Schedule.objects.get(pk=schedule.pk).func == "topups.tasks.refresh_balance"
    page = client.get(reverse("admin:django_q_schedule_changelist"))
    assert page.status_code == 200 and "balance" in page.content.decode()


def test_rows_written_by_the_code_are_never_added_changed_or_deleted_in_the_admin(make_user, rf):
    """Order history, mobile plans, bulk files, the audit trail, prices, tills, the ledger and django-q2's
    tasks: even a superuser only views them (a bulk file is added through the dashboard's upload)."""
    from django.contrib import admin

    from topups.admin.orders import OrderAdmin, OrderEventInline
    from topups.models import AuditEvent, Batch, LedgerFlag, LedgerRow, MobilePlan, PriceRule, Till

    request = rf.get("/admin/")
    request.user = make_user("root", is_superuser=True, is_staff=True)
    inline = OrderEventInline(Order, admin.site)
    # Django lets an inline row be deleted when can_delete and has_delete_permission both say so.
    assert not (inline.has_add_permission(request, None) or inline.has_change_permission(request)
                or (inline.can_delete and inline.has_delete_permission(request)))
    for model in (MobilePlan, Batch, AuditEvent, PriceRule, Till, LedgerRow, LedgerFlag):
        model_admin = admin.site._registry[model]
        assert not model_admin.has_change_permission(request) and not model_admin.has_delete_permission(request)
        assert model_admin.has_add_permission(request) is (model is Batch), model
        assert model_admin.has_view_permission(request), model
    assert isinstance(admin.site._registry[Order], OrderAdmin)
    assert admin.site._registry[MobilePlan].get_actions(request) == {}
    assert "send_selected" in admin.site._registry[Order].get_actions(request)
