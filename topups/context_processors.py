"""Template context shared by the admin's pages and the dashboard."""

from __future__ import annotations

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from topups.selectors import current_account


def _key_problem() -> str:
    """Why the configured API key cannot be used, or "" (one query: the ApiAccount row the home
    page reads, by the key's fingerprint)."""
    if not settings.ONECLICKDZ_API_KEY:
        return "missing"
    account = current_account()
    return account.refused_reason if account else ""


def api_key_state(request) -> dict:
    """``api_key_problem`` for staff: "missing", the API's refusal reason, or "".

    Lazy, so the query runs only on pages that show it (admin/base_site.html), and only for staff.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_staff:
        return {}
    return {"api_key_problem": SimpleLazyObject(_key_problem)}


def ledger_flags(request) -> dict:
    """``ledger_open_flags`` (how many) and ``ledger_flag_day`` (the latest day with one), for the
    banner shown to those who reconcile. Callables the template calls only where the banner is
    drawn: one query then, none elsewhere."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    found: list = []

    def open_days() -> list[dict]:
        if not found:
            from topups.selectors import ledger as ledger_reads

            found.append(ledger_reads.open_flag_days())
        return found[0]

    return {"ledger_open_flags": lambda: sum(d["count"] for d in open_days()),
            "ledger_flag_day": lambda: open_days()[0]["day"] if open_days() else None}


def cost_visibility(request) -> dict:
    """``sees_costs``: whether the page may show purchase costs and the provider balance
    (``roles.sees_costs``; cashiers see prices only)."""
    from topups.roles import sees_costs

    user = getattr(request, "user", None)
    return {"sees_costs": bool(user and user.is_authenticated and sees_costs(user))}
