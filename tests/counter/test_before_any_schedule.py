"""The moment the app is up, before any schedule ran: the new-order form offers the catalog and
the dashboard shows the balance, fetched on first use."""

from __future__ import annotations

import pytest
from django.urls import reverse

from topups.models import ApiAccount, Product
from topups.services import account

pytestmark = pytest.mark.django_db


def test_the_new_order_form_works_before_any_schedule_ran(sim, operator, client):
    assert not Product.objects.exists() and not ApiAccount.objects.exists()
    client.force_login(operator)
    page = client.get(reverse("topups:new_order")).content.decode()
    assert 'value="ADSL:1000"' in page
    row = ApiAccount.objects.get(key_fingerprint=account.current_fingerprint())
    assert row.balance == sim.stats()["balance"] and row.catalog_synced_at is not None
    calls = sum(sim.stats()["calls"].values())
    client.get(reverse("topups:new_order"))
    client.get(reverse("topups:home"))
    assert sum(sim.stats()["calls"].values()) == calls  # fresh now: no more fetches


def test_the_dashboard_shows_the_balance_before_any_schedule_ran(sim, operator, client):
    client.force_login(operator)
    client.get(reverse("topups:home"))
    assert ApiAccount.objects.get(key_fingerprint=account.current_fingerprint()).balance == sim.stats()["balance"]
