"""The counter's mobile top-ups in tests: a cashier with the plans cached and a cash session, and
the steps of the new-order form (a fresh reference, a submission)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from topups.services import mobile, tills
from topups.services.actors import Actor

NEW = reverse("topups:new_order")
CHECK = reverse("topups:flexy_check")


@pytest.fixture
def counter(priced_shop, client, operator):
    """A cashier at the counter: plans cached from the simulator, a cash session open, a shop-wide
    price of cost + 20 DA."""
    assert mobile.sync_plans().ok
    tills.open_till(actor=Actor.user(operator), opening_cash="0")
    client.force_login(operator)
    return priced_shop


def form_ref(client, **query) -> str:
    response = client.get(NEW, {"service": "mobile", **query})
    assert response.status_code == 200
    return response.context["form"]["ref"].value()


def send(client, number, plan_code, amount="", **extra):
    data = {"service": "mobile", "ref": form_ref(client), "number": number, "plan_code": plan_code,
            "amount": amount, **extra}
    return client.post(NEW, data)


def errors_of(response) -> str:
    form = response.context["form"]
    return " ".join(str(e) for errors in form.errors.values() for e in errors)
