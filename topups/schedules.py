"""The background schedules, created idempotently after every migrate (keyed by name)."""

from __future__ import annotations

from django.conf import settings

SCHEDULES = {
    "Order status sync": ("topups.tasks.sync_orders", 1),
    "Catalog refresh": ("topups.tasks.refresh_catalog", "CATALOG_REFRESH_MINUTES"),
    "Mobile plans refresh": ("topups.tasks.refresh_mobile_plans", "MOBILE_PLANS_REFRESH_MINUTES"),
    "Balance refresh": ("topups.tasks.refresh_balance", "BALANCE_REFRESH_MINUTES"),
    "Ledger reconciliation": ("topups.tasks.reconcile_ledger", "LEDGER_SYNC_MINUTES"),
}


def ensure_schedules_and_groups(**kwargs) -> None:
    """post_migrate: the schedules, and the staff groups (again after a test flush)."""
    from django.contrib.auth.models import Group, Permission

    from topups.roles import ensure_groups

    ensure_schedules()
    ensure_groups(Group, Permission)


def ensure_schedules() -> None:
    from django_q.models import Schedule

    for name, (func, minutes) in SCHEDULES.items():
        if isinstance(minutes, str):
            minutes = getattr(settings, minutes)
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1},
        )
