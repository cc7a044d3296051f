"""A ref the server did not issue never reaches the API: the new-order form carries a ref signed
for its user, and a bulk file's ref cell is a label from which the reference is derived."""

from __future__ import annotations

import io
import re

import pytest
import requests
from django.urls import reverse

from topups.keys import file_ref
from topups.lines.internet import catalog
from topups.models import Batch, Order, OrderStatus

pytestmark = pytest.mark.django_db
S = OrderStatus
OUTSIDE_REF = "order-123456"  # the API docs' example shape


@pytest.fixture
def outside_card(sim, simulator_server):
    """A top-up placed on the same API account outside the app, delivered: its code is money."""
    assert catalog.sync_catalog().ok
    answer = requests.post(f"{simulator_server.url}/internet/send", headers={"X-Access-Token": "test-key-0000"},
                           json={"type": "ADSL", "number": "036362600", "value": 1000, "ref": OUTSIDE_REF},
                           timeout=5)
    assert answer.json()["success"]
    sim.advance(10)
    code = requests.get(f"{simulator_server.url}/internet/check-ref/{OUTSIDE_REF}",
                        headers={"X-Access-Token": "test-key-0000"}, timeout=5).json()["data"]["card_code"]
    assert code
    return code


def form_ref(client) -> str:
    html = client.get(reverse("topups:new_order")).content.decode()
    return re.search(r'name="ref" value="([^"]+)"', html).group(1)


def post(client, ref):
    return client.post(reverse("topups:new_order"),
                       {"line_type": "ADSL", "number": "036362600", "value": "ADSL:1000", "ref": ref})


def test_a_chosen_ref_is_refused_and_adopts_no_card(client, operator, sim, outside_card):
    client.force_login(operator)
    response = post(client, OUTSIDE_REF)
    body = response.content.decode()
    assert response.status_code == 400 and "This form is out of date" in body
    assert not Order.objects.exists() and outside_card not in body
    assert sim.stats()["refs"][OUTSIDE_REF]["attempts"] == 1  # only the outside send


def test_a_ref_issued_to_someone_else_is_refused(client, operator, make_user, sim, outside_card):
    client.force_login(make_user("otto", "Operators"))
    someone_elses = form_ref(client)
    client.force_login(operator)
    assert post(client, someone_elses).status_code == 400 and not Order.objects.exists()


def test_the_issued_ref_sends_once_and_a_resubmit_returns_the_same_order(client, operator, sim, outside_card):
    client.force_login(operator)
    ref = form_ref(client)
    first, second = post(client, ref), post(client, ref)
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    order = Order.objects.get()
    assert order.ref != OUTSIDE_REF and order.ref.startswith("OC-") and order.ref in ref
    assert sim.stats()["refs"][order.ref] == {"orders": 1, "attempts": 1}
    order.refresh_from_db()
    assert order.card_code != outside_card


def test_a_bulk_files_ref_is_a_label_not_the_api_reference(client, supervisor, sim, outside_card):
    client.force_login(supervisor)
    file = io.BytesIO(f"type,number,value,ref\nADSL,036362600,1000,{OUTSIDE_REF}\n".encode())
    file.name = "orders.csv"
    response = client.post(reverse("topups:batch_new"), {"file": file})
    batch = Batch.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))
    assert batch.valid_count == 1
    client.post(reverse("topups:batch_confirm", args=[batch.pk]))
    order = Order.objects.get()
    assert order.ref == file_ref(OUTSIDE_REF) != OUTSIDE_REF
    assert order.status == S.HANDLING and order.card_code == ""  # sent as a new order, nothing adopted
    stats = sim.stats()["refs"]
    assert stats[OUTSIDE_REF]["attempts"] == 1 and stats[order.ref] == {"orders": 1, "attempts": 1}
    # The same label in a later file is caught as already used.
    again = io.BytesIO(f"type,number,value,ref\nADSL,036362601,1000,{OUTSIDE_REF}\n".encode())
    again.name = "again.csv"
    response = client.post(reverse("topups:batch_new"), {"file": again})
    later = Batch.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))
    assert [code for code, _ in later.rows[0]["errors"]] == ["ref_used"]
