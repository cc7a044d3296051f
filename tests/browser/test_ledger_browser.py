"""A supervisor meets the ledger's banner on the dashboard, follows it to the day's
reconciliation, resolves the flag with a note, and the banner is gone; in Arabic the page reads
right to left. No CSP violation on the way (no inline script or style)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from topups.lines.internet import catalog
from topups.models import AuditEvent, LedgerFlag
from topups.services import ledger, reconcile

from .pages import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def flagged(sim, settings):
    settings.LEDGER_GRACE_SECONDS = 0
    cache.delete(ledger.SYNC_LOCK)
    assert catalog.sync_catalog().ok
    sim.place_elsewhere(value=2000, number="036000011")  # a debit we never made
    reconcile.run(backfill_days=1)
    assert reconcile.open_flags() == 1
    yield
    cache.delete(ledger.SYNC_LOCK)


def test_banner_leads_to_the_flag_which_is_resolved_with_a_note(page, live_server, supervisor, flagged, shot):
    violations = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text
            else None)
    log_in(page, live_server, "sam", "pw-sam")
    banner = page.locator("#ledger-banner")
    assert "1 open flag" in banner.inner_text()
    banner.get_by_role("link").click()
    page.wait_for_selector("#flags")
    assert "Debit with no order" in page.inner_text("#flags")
    shot(page, "ledger-day")
    page.fill("#flags input[name=note]", "Sent from the old till; booked by hand")
    page.click("#flags button[type=submit]")
    page.wait_for_selector(".msg.success")
    assert page.locator("#ledger-banner").count() == 0
    assert "Sent from the old till" in page.inner_text("#flags")
    flag = LedgerFlag.objects.get()
    assert not flag.is_open and flag.resolved_by.username == "sam"
    assert AuditEvent.objects.filter(action="resolve_ledger_flag").count() == 1
    page.select_option("#lang-select", "ar")
    page.wait_for_selector("html[lang=ar][dir=rtl]")
    assert "مطابقة" in page.inner_text("h1")
    shot(page, "ledger-day-ar")
    assert violations == []
