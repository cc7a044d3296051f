"""The steps of the counter's mobile top-up form in tests: a fresh reference, a submission, the
errors shown (the cashier at the counter is the ``counter`` fixture of conftest)."""

from __future__ import annotations

from django.urls import reverse

NEW = reverse("topups:new_order")
CHECK = reverse("topups:flexy_check")


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
