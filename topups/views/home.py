"""The home page: balance, catalog freshness, today's figures and the recent orders."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from topups import selectors
from topups.lines.internet import catalog
from topups.selectors import books, waiting
from topups.services import audit


@require_GET
@login_required
@permission_required("topups.view_order", raise_exception=True)
def home(request):
    """Balance, catalog freshness, today's figures and the user's recent orders: cached rows (fetched
    first when missing or stale, see ``catalog.ensure_fresh``). Supervisors (who follow everyone's
    orders) see the shop: what needs them, the queue, each cashier's day and the shop's latest orders."""
    catalog.ensure_fresh()
    shop = selectors.shop_overview() if request.user.has_perm("topups.refresh_order") else None
    recent = selectors.shop_recent_orders() if shop else selectors.recent_orders(request.user)
    audit.show_order_codes(request, recent, via="home page")
    return render(request, "topups/home.html", {
        "state": selectors.account_state(),
        "today": selectors.today_summary(),
        "recent": recent,
        "shop": shop,
        "below_cost": (books.sold_below_cost(start=timezone.localdate(), end=timezone.localdate())
                       if request.user.has_perm("topups.view_books") else ()),
        "now": timezone.now(),
        "waiting_count": waiting.waiting_count(),
    })
