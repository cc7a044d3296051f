"""The number check says why the API refused a number, in the API's words, and the client reads
the reason from every documented error shape."""

from __future__ import annotations

import pytest
from django.urls import reverse

from topups.lines.internet import catalog
from topups.oneclick import errors as api_errors

pytestmark = pytest.mark.django_db


def test_a_line_not_found_keeps_the_apis_reason(client, operator, sim):
    assert catalog.sync_catalog().ok
    client.force_login(operator)
    answer = client.get(reverse("topups:check_number"), {"line_type": "ADSL", "number": "036362699"}).json()
    assert not answer["ok"] and answer["code"] == "ERR_PHONE"
    assert "Number not found for this service" in answer["message"]


@pytest.mark.parametrize("details,expected", [
    ({"reason": "Number not found for this service"},
     "Invalid phone number for ADSL service: Number not found for this service"),
    ({}, "Invalid phone number for ADSL service"),
    ({"reason": None}, "Invalid phone number for ADSL service"),
    ({"reason": "invalid phone number for adsl service"}, "Invalid phone number for ADSL service"),
])
def test_the_explanation_joins_message_and_reason(details, expected):
    error = api_errors.PhoneError("Invalid phone number for ADSL service", details=details)
    assert error.explanation == expected
