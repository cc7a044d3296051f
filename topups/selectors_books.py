"""Reads for the books' pages: the reports (aggregated in the database, by day in the shop's time
zone, by cashier, product or line type), the charts' geometry (inline SVG computed here, no
script), the cash sessions and the price list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from topups.models import (
    LineType,
    MobilePlan,
    Order,
    PriceRule,
    Product,
    Service,
    Till,
    handed_back_q,
)
from topups.selectors import local_day_bounds
from topups.services import pricing
from topups.services.mobile import cost_of

GROUPS = ("day", "cashier", "product", "line_type", "service")
ZERO = Decimal(0)


@dataclass
class ReportRow:
    key: tuple
    label: str
    orders: int
    revenue: Decimal
    cost: Decimal
    refunds: Decimal
    refund_count: int

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def taken(self) -> Decimal:
        """What the till took for these orders (every order is paid at entry, see tills)."""
        return self.revenue + self.refunds


@dataclass
class Report:
    start: date
    end: date
    group: str
    rows: list[ReportRow] = field(default_factory=list)

    @property
    def total(self) -> ReportRow:
        return ReportRow((), "", sum(r.orders for r in self.rows), sum((r.revenue for r in self.rows), ZERO),
                         sum((r.cost for r in self.rows), ZERO), sum((r.refunds for r in self.rows), ZERO),
                         sum(r.refund_count for r in self.rows))


def money_figures() -> dict:
    """The money aggregates of a set of orders, for the reports and a till's close alike. A sale is
    any order not handed back (``handed_back_q``: the books' one rule); its cost is what the API
    debits (nothing for the orders handed back). A menu request (GETMENU) sells nothing: it is
    not money handed back."""
    back = handed_back_q()
    sold = ~back
    return {"orders": Count("pk"), "revenue": Sum("price", filter=sold),
            "cost": Sum("cost", filter=sold), "refunds": Sum("price", filter=back),
            "refund_count": Count("pk", filter=back)}


def report(*, start: date, end: date, group: str = "day", below_cost: bool = False) -> Report:
    """Orders, revenue, cost, profit and refunds from ``start`` to ``end`` (local days, inclusive),
    per ``group``: one aggregate query whatever the number of orders. ``below_cost``: only the sales
    whose price was under what the API debited."""
    since, _e = local_day_bounds(start)
    _s, until = local_day_bounds(end)
    orders = Order.objects.filter(created_at__gte=since, created_at__lt=until).order_by()
    if below_cost:
        orders = orders.filter(~handed_back_q(), price__lt=F("cost"))
    if group == "day":
        keys = ["day"]
        orders = orders.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
    elif group == "cashier":
        keys = ["created_by__username"]
    elif group == "product":
        # A card is its type and value; a mobile top-up is its plan, whatever the amount typed.
        keys = ["service", "line_type", "plan_code", "card_value"]
        orders = orders.annotate(card_value=Case(When(service=Service.MOBILE, then=Value(None)), default=F("value"),
                                                 output_field=DecimalField()))
    elif group == "service":
        keys = ["service"]
    else:
        group, keys = "line_type", ["line_type"]
    rows = orders.values(*keys).annotate(**money_figures()).order_by(*keys)
    result = Report(start, end, group)
    for row in rows:
        key = tuple(row[k] for k in keys)
        result.rows.append(ReportRow(key, _label(group, key), row["orders"], _money(row["revenue"]), _money(row["cost"]),
                                     _money(row["refunds"]), row["refund_count"]))
    return result


def _label(group: str, key: tuple) -> str:
    """How a report row is named: its day, cashier, product (card or mobile plan), line type or service."""
    if group == "day":
        return key[0].isoformat()
    if group == "cashier":
        return key[0] or "—"
    if group == "service":
        return str(dict(Service.choices).get(key[0], key[0]))
    line_types = dict(LineType.choices)
    if group == "product":
        service, line_type, plan_code, value = key
        if service == Service.MOBILE:
            return f"{Service.MOBILE.label} {plan_code}"
        return f"{line_types.get(line_type, line_type)} {value:.0f}"
    return str(line_types.get(key[0], key[0]) or Service.MOBILE.label)


def _money(value) -> Decimal:
    """A sum as dinars and centimes, the same on every database (SQLite drops trailing zeros)."""
    return Decimal(value or 0).quantize(Decimal("0.01"))


def default_range(today: date | None = None) -> tuple[date, date]:
    """This month so far."""
    today = today or timezone.localdate()
    return today.replace(day=1), today


# Charts -------------------------------------------------------------------------------------------


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: Decimal
    tone: str


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar]
    max_value: Decimal
    labels: list[Bar] = field(default_factory=list)


def daily_chart(rows: list[ReportRow], *, start: date, end: date, rtl: bool = False, width: int = 720,
                height: int = 200) -> Chart:
    """Revenue and profit per day as pairs of bars; every day of the range has its slot (a day
    without sales shows none). Right to left, the first day is on the right."""
    by_day = {row.key[0]: row for row in rows}
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    top = max([max(r.revenue, r.profit) for r in rows] + [Decimal(1)])
    slot = width / max(len(days), 1)
    bars, labels = [], []
    step = max(1, len(days) // 10)
    for i, day in enumerate(days):
        row = by_day.get(day)
        left = (width - (i + 1) * slot) if rtl else i * slot
        if i % step == 0:
            labels.append(Bar(round(left + slot / 2, 1), height + 14, 0, 0, f"{day:%d/%m}", ZERO, "axis"))
        if row is None:
            continue
        for j, (value, tone) in enumerate(((row.revenue, "revenue"), (max(row.profit, ZERO), "profit"))):
            h = float(value / top) * (height - 4)
            offset = (1 - j) if rtl else j
            bars.append(Bar(round(left + slot * (0.1 + 0.4 * offset), 1), round(height - h, 1),
                            round(slot * 0.4, 1), round(h, 1), f"{day:%d/%m}", value, tone))
    return Chart(width, height, bars, top, labels)


def mix_chart(rows: list[ReportRow], *, rtl: bool = False, width: int = 720) -> Chart:
    """Revenue per product as horizontal bars (longest first); right to left, they grow leftwards."""
    rows = sorted(rows, key=lambda r: r.revenue, reverse=True)[:12]
    top = max([r.revenue for r in rows] + [Decimal(1)])
    bar_height, bars = 22, []
    labels = 200  # the product names' column
    usable = width - labels
    for i, row in enumerate(rows):
        w = float(row.revenue / top) * usable
        x = (usable - w) if rtl else labels
        bars.append(Bar(round(x, 1), i * (bar_height + 6), round(w, 1), bar_height, row.label, row.revenue, "mix"))
    return Chart(width, max(len(rows), 1) * (bar_height + 6), bars, top)


# Cash sessions and prices ---------------------------------------------------------------------------


def recent_tills(limit: int = 100) -> list[Till]:
    return list(Till.objects.select_related("cashier", "approved_by").order_by("-opened_at", "-pk")[:limit])


def till_by_service(till: Till) -> list[ReportRow]:
    """A till's orders, money taken and handed back per service (internet cards, mobile top-ups): one
    aggregate query, the books' rule as for the close."""
    rows = Order.objects.filter(till=till).order_by().values("service").annotate(**money_figures()).order_by("service")
    return [ReportRow((r["service"],), _label("service", (r["service"],)), r["orders"], _money(r["revenue"]),
                      _money(r["cost"]), _money(r["refunds"]), r["refund_count"]) for r in rows]


def till_orders(till: Till, limit: int = 500) -> list[Order]:
    return list(Order.objects.filter(till=till).order_by("created_at", "pk")
                .only("ref", "service", "line_type", "plan_code", "value", "number", "status", "price",
                      "created_at")[:limit])


def price_list() -> list[tuple[Product, PriceRule | None, pricing.Quote]]:
    """Every product with its own rule (or none: the default applies) and its price now."""
    book = pricing.PriceBook()
    return [(p, book.rules.get((p.line_type, Decimal(p.value))), book.quote(p)) for p in Product.objects.all()]


def default_rule() -> PriceRule | None:
    return PriceRule.objects.filter(line_type="", plan_code="", operator="").first()


def flexy_price_list(sample=Decimal(1000)) -> list[dict]:
    """Every flexy plan (menu requests aside) with its fee rule, and the cost and price of one
    top-up: the plan's fixed amount, or ``sample`` DZD kept within a dynamic plan's range."""
    book = pricing.PriceBook()
    rows = []
    for plan in MobilePlan.objects.order_by("operator", "kind", "amount", "code"):
        if plan.is_menu:
            continue
        amount = plan.amount if plan.kind == "fixed" else min(max(sample, plan.min_amount or sample),
                                                               plan.max_amount or sample)
        cost = None if amount is None else cost_of(plan, amount)
        rows.append({"plan": plan, "amount": amount, "cost": cost,
                     "rule": book.mobile_rule_for(plan.code, plan.network),
                     "quote": book.quote_mobile(plan.code, amount, cost, plan.network) if amount else None})
    return rows


def sold_below_cost(*, start: date, end: date) -> list[ReportRow]:
    """The products sold below their cost from ``start`` to ``end`` (the "Sold below cost" line of
    the home page and the reports): empty when nothing was."""
    return report(start=start, end=end, group="product", below_cost=True).rows
