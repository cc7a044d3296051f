"""A day is a calendar day in the shop's zone, the same for the dashboard's today, the orders filter,
the books and the ledger (topups.days)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from topups.days import day_bounds, shop_day


def test_the_shops_day_runs_from_midnight_to_the_next_midnight():
    start, end = day_bounds(date(2026, 12, 6))  # Africa/Algiers: UTC+1 all year
    assert start == datetime(2026, 12, 5, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 6, 23, 0, tzinfo=UTC)
    assert shop_day(start) == date(2026, 12, 6) and shop_day(end - timedelta(microseconds=1)) == date(2026, 12, 6)
    assert shop_day(end) == date(2026, 12, 7)


def hours(start: datetime, end: datetime) -> float:
    """Elapsed hours (in UTC: Python subtracts two datetimes of one zone by their wall clocks)."""
    return (end.astimezone(UTC) - start.astimezone(UTC)) / timedelta(hours=1)


def test_a_day_the_clocks_change_is_23_or_25_hours_long():
    """Algiers keeps one offset, but the bounds are calendar midnights, never "start + 24 h"."""
    with timezone.override("Europe/Paris"):
        spring_start, spring_end = day_bounds(date(2026, 3, 29))
        autumn_start, autumn_end = day_bounds(date(2026, 10, 25))
        assert hours(spring_start, spring_end) == 23 and hours(autumn_start, autumn_end) == 25
        assert timezone.localtime(spring_end).time().isoformat() == "00:00:00"
        assert shop_day(spring_end - timedelta(microseconds=1)) == date(2026, 3, 29)
