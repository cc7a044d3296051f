"""Each product line brings its catalog's schedule: the shared list plus the lines' own, created after
every migrate, each task path importable, and the gift-card catalogue's daily refresh fills it."""

from __future__ import annotations

from importlib import import_module

import pytest
from django_q.models import Schedule

from topups.models import GiftProduct
from topups.schedules import ensure_schedules

pytestmark = pytest.mark.django_db


def test_every_line_schedules_its_catalog_and_every_task_exists(settings):
    settings.GIFT_CATALOG_REFRESH_HOURS = 24
    ensure_schedules()
    schedules = {s.name: s for s in Schedule.objects.all()}
    assert {"Catalog refresh", "Mobile plans refresh", "Gift card catalogue refresh"} <= set(schedules)
    assert schedules["Gift card catalogue refresh"].minutes == 24 * 60
    for schedule in schedules.values():
        module, name = schedule.func.rsplit(".", 1)
        assert callable(getattr(import_module(module), name)), schedule.func


def test_the_gift_card_schedule_fills_the_catalogue(sim):
    from topups.lines.giftcards import catalog

    assert not GiftProduct.objects.exists()
    result = catalog.scheduled_refresh()
    assert result["failed"] == "" and result["created"] == GiftProduct.objects.count() > 0
