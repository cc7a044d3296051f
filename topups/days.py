"""The shop's calendar days (settings.TIME_ZONE, Africa/Algiers): which day a moment falls on, and
the moments a day starts and ends. Every page and match that counts "a day" asks here, so the
dashboard's today, the orders filter, the books and the ledger agree on where a day ends."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def shop_day(moment: datetime) -> date:
    """The shop's calendar day ``moment`` falls on."""
    return timezone.localtime(moment).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``day``'s first moment and the next day's first moment (the end, excluded), in the current
    time zone. The end is the next calendar day's midnight, not "start + 24 h": on a day the clocks
    change the day is 23 or 25 hours long."""
    zone = timezone.get_current_timezone()
    return (datetime.combine(day, time.min, tzinfo=zone),
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone))
