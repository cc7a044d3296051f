"""A wrong API key: at most 2 failed calls reach the API, whatever runs (schedules, sends, the
status sync, the dashboard's number check), until the key is changed; then calls work again.
The dashboard and the admin say what is wrong.

The API blocks the caller's IP after 5 failed attempts (docs/simulator.md, "Auth"), so every
process must stop calling with a refused key: the refusal is recorded in the database
(``DatabaseKeyGuard``) and every client checks it before calling.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.conftest import TEST_KEY
from topups import tasks
from topups.lines.internet import catalog
from topups.models import ApiAccount, Order, OrderStatus
from topups.services import account, orders
from topups.services.actors import Actor

S = OrderStatus
pytestmark = pytest.mark.django_db
WRONG_KEY = "wrong-key-9999"


@pytest.fixture
def use_key(settings):
    def use(key: str) -> None:
        settings.ONECLICKDZ_API_KEY = key
        account._client.cache_clear()

    return use


def run_everything(operator, client) -> None:
    """What the schedules, the workers and the staff do in a few minutes."""
    for _ in range(3):
        tasks.refresh_balance()
        tasks.refresh_catalog()
        tasks.sync_orders(sweep_seconds=0, cycle_seconds=0)
        actor = Actor.user(operator)
        order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000), actor=actor)
        orders.request_send(Order.objects.filter(pk=order.pk), actor=actor)  # the send task runs inline
        client.get(reverse("topups:check_number"), {"line_type": "ADSL", "number": "036362601"})
        client.get(reverse("topups:home"))


def test_wrong_key_costs_at_most_two_failed_calls_until_changed(sim, use_key, operator, supervisor, client):
    assert catalog.sync_catalog().ok  # with the right key: a catalog is cached
    use_key(WRONG_KEY)
    client.force_login(operator)

    run_everything(operator, client)

    stats = sim.stats()
    assert 1 <= stats["auth_failures"]["total"] <= 2, stats["auth_failures"]
    assert "IP_BLOCKED" not in str(ApiAccount.objects.values_list("refused_reason", flat=True))
    # Orders were not lost: back to NEW, to be sent once the key works, with the reason in the history.
    waiting = Order.objects.filter(status=S.NEW, send_requested_at__isnull=False)
    assert waiting.count() == 3
    assert "refused the key" in waiting.first().events.order_by("pk").last().note

    # The dashboard and the admin say what is wrong.
    home = client.get(reverse("topups:home")).content.decode()
    assert "The API refused our key" in home and "INVALID_ACCESS_TOKEN" in home
    client.force_login(supervisor)
    for url in (reverse("admin:index"), reverse("admin:topups_order_changelist")):
        page = client.get(url).content.decode()
        assert 'class="api-key-problem"' in page and "INVALID_ACCESS_TOKEN" in page, url
        assert "topups/admin.css" in page

    # The key is changed (new value, processes restarted): calls work again, the waiting orders go.
    use_key(TEST_KEY)
    failures = sim.stats()["auth_failures"]["total"]
    assert tasks.refresh_balance() is not None
    reports = tasks.send_orders(list(waiting.values_list("pk", flat=True)), "supervisor", supervisor.pk)
    assert {r["outcome"] for r in reports} == {"sent"}
    assert sim.stats()["auth_failures"]["total"] == failures
    page = client.get(reverse("admin:index")).content.decode()
    assert "api-key-problem" not in page


def test_admin_says_when_no_key_is_configured(use_key, supervisor, client):
    use_key("")
    client.force_login(supervisor)
    page = client.get(reverse("admin:index")).content.decode()
    assert 'class="api-key-problem"' in page and "No API key is configured" in page


def test_key_state_is_for_staff_only(sim, operator):
    """The context processor gives nothing to non-staff users, and queries only when read."""
    from django.test import RequestFactory

    from topups.context_processors import api_key_state

    ApiAccount.objects.create(key_fingerprint=account.current_fingerprint(), refused_reason="INVALID_ACCESS_TOKEN")
    request = RequestFactory().get("/admin/")
    request.user = operator
    assert api_key_state(request) == {}
    operator.is_staff = True
    state = api_key_state(request)["api_key_problem"]
    assert str(state) == "INVALID_ACCESS_TOKEN"


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_twenty_sends_at_once_under_a_refused_key_cost_one_call(sim, use_key, operator):
    """The API bans the IP after 5 failed calls: workers sending at once must not all try the key.
    One call probes it; the others wait for its answer and put their order back to wait."""
    import threading

    from django.db import connection

    from topups.services import sending

    assert catalog.sync_catalog().ok
    actor = Actor.user(operator)
    created = [orders.create_order(line_type="ADSL", number=f"0363626{i:02d}", value=Decimal(1000), actor=actor)[0]
               for i in range(20)]
    Order.objects.update(send_requested_at=Order.objects.first().created_at)
    use_key(WRONG_KEY)
    start, outcomes, failures = threading.Barrier(20), [], []

    def send(order_id: int) -> None:
        try:
            start.wait()
            outcomes.append(sending.send_order(order_id=order_id, actor=Actor.task("worker")).outcome)
        except BaseException as exc:  # surfaced below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(order.pk,)) for order in created]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures
    assert sim.stats()["auth_failures"]["total"] <= 1, sim.stats()["auth_failures"]
    # Nothing lost: every order waits to be sent once the key is fixed.
    assert outcomes == ["retry"] * 20
    assert Order.objects.filter(status=S.NEW).count() == 20
