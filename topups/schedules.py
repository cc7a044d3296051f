"""The background schedules, created idempotently after every migrate (keyed by name)."""

from __future__ import annotations

from django.conf import settings

# The shared schedules; each product line adds its own (its catalog's refresh: ProductLine.schedules).
SCHEDULES = {
    "Order status sync": ("topups.tasks.sync_orders", 1),
    "Balance refresh": ("topups.tasks.refresh_balance", "BALANCE_REFRESH_MINUTES"),
    "Ledger reconciliation": ("topups.tasks.reconcile_ledger", "LEDGER_SYNC_MINUTES"),
}


def all_schedules() -> dict:
    from topups import lines

    found = dict(SCHEDULES)
    for line in lines.all_lines():
        found.update(line.schedules())
    return found


def ensure_schedules_and_groups(**kwargs) -> None:
    """post_migrate: the schedules, and the staff groups (again after a test flush)."""
    from django.contrib.auth.models import Group, Permission

    from topups.roles import ensure_groups

    ensure_schedules()
    ensure_groups(Group, Permission)


def ensure_schedules() -> None:
    from django_q.models import Schedule

    for name, (func, minutes) in all_schedules().items():
        if isinstance(minutes, str):  # a setting's name
            minutes = getattr(settings, minutes)
        elif callable(minutes):
            minutes = minutes()
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1},
        )
