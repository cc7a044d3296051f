"""Small things a clerk notices: one currency sign per language, out-of-stock values labelled
rather than vanishing, "just now" rather than "0 minutes ago"."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.counter import test_same_line
from topups.models import Product

op_client = test_same_line.op_client  # a logged-in operator, the catalog synced

pytestmark = pytest.mark.django_db


def test_out_of_stock_values_are_labelled_and_not_selectable(op_client):
    gone = Product.objects.filter(line_type="ADSL").order_by("value").first()
    Product.objects.filter(pk=gone.pk).update(available=False)
    html = op_client.get(reverse("topups:new_order")).content.decode()
    option = re.search(r'<option value="" disabled data-type="ADSL" data-out-of-stock>([^<]+)</option>', html)
    assert option and "out of stock" in option.group(1)
    assert f'value="ADSL:{gone.value:.0f}"' not in html


def test_one_currency_sign_per_language(op_client):
    op_client.post(reverse("set_language"), {"language": "ar", "next": "/"})
    html = op_client.get(reverse("topups:new_order")).content.decode()
    assert "دج" in html and not re.search(r"\d DA\b", html)
    op_client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    html = op_client.get(reverse("topups:new_order")).content.decode()
    assert "دج" not in html and re.search(r"\d DA\b", html)


def test_balance_fetched_a_moment_ago_reads_just_now(op_client):
    from topups.services import account

    account.fetch_balance()
    html = op_client.get(reverse("topups:home")).content.decode()
    assert "updated just now" in html and "0 minutes" not in html
