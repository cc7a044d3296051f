"""Reads for the books' pages: the reports (aggregated in the database, by day in the shop's time
zone, by cashier, product or line type), the charts' geometry (inline SVG computed here, no
script), the cash sessions and the price list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from topups import lines, prices
from topups.days import day_bounds
from topups.models import (
    HANDED_BACK_STATUSES,
    REVERSED_LATER,
    HandBack,
    MobilePlan,
    Order,
    OrderEvent,
    PriceRule,
    Product,
    Till,
    TillClose,
    TillStatus,
    handed_back_q,
    part_back_cost,
)
from topups.prices import cost_of

CENT = Decimal("0.01")

GROUPS = ("day", "cashier", "product", "category", "line_type", "service")
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
    below_cost_count: int = 0  # sales priced below what the API debited for them

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
                         sum(r.refund_count for r in self.rows), sum(r.below_cost_count for r in self.rows))


# The books' rule for a sale below cost, as Order.sold_below_cost says it of one order.
SOLD_BELOW_COST = Q(price__lt=F("cost")) & ~Q(status__in=HANDED_BACK_STATUSES)


def money_figures() -> dict:
    """The money aggregates of a set of orders, for the reports. A sale is any order not handed back
    (``handed_back_q``: the books' one rule); its cost is what the API debits (nothing for the orders
    handed back); a sale priced below it is counted (``SOLD_BELOW_COST``). A menu request (GETMENU)
    sells nothing: it is not money handed back. A sale reversed later (a card taken back) leaves
    the books on its own day (``_reversals``)."""
    back = handed_back_q() & ~Q(status__in=REVERSED_LATER)
    return {"orders": Count("pk"), "revenue": Sum("price", filter=~back), "costs": Sum("cost", filter=~back),
            "refunds": Sum("price", filter=back), "refund_count": Count("pk", filter=back),
            "below_cost": Count("pk", filter=SOLD_BELOW_COST),
            # A sale partly handed back (a gift-card order partly filled): the part handed back leaves
            # its revenue, and the same share of its cost, which the provider refunded, leaves its cost.
            # (A card taken back, handed back whole later, leaves the books by ``_reversals``.)
            "part_back": Sum("hand_back__amount", filter=~handed_back_q()),
            "part_cost": Sum(part_back_cost(), filter=~handed_back_q() & Q(hand_back__isnull=False))}


def report(*, start: date, end: date, group: str = "day", below_cost: bool = False) -> Report:
    """Orders, revenue, cost, profit and refunds from ``start`` to ``end`` (local days, inclusive),
    per ``group``: two aggregate queries whatever the number of orders (the orders sold in the
    range, and the sales reversed in it, see ``_reversals``). ``below_cost``: only the sales whose
    price was under what the API debited (``SOLD_BELOW_COST``; no reversal is one)."""
    since, _e = day_bounds(start)
    _s, until = day_bounds(end)
    orders = Order.objects.filter(created_at__gte=since, created_at__lt=until).order_by()
    if below_cost:
        orders = orders.filter(SOLD_BELOW_COST)
    group = group if group in GROUPS else "line_type"
    keys, orders = _grouped(orders, group, "")
    rows = orders.values(*keys).annotate(**money_figures()).order_by(*keys)
    result = Report(start, end, group)
    by_key = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        part_back, part_cost = _money(row["part_back"]), _money(row["part_cost"]).quantize(CENT)
        by_key[key] = ReportRow(key, _label(group, key), row["orders"], _money(row["revenue"]) - part_back,
                                _money(row["costs"]) - part_cost, _money(row["refunds"]) + part_back,
                                row["refund_count"], row["below_cost"])
    reversed_sales = {} if below_cost else _reversals(since, until, group)
    for key, (count, price, cost) in reversed_sales.items():
        row = by_key.setdefault(key, ReportRow(key, _label(group, key), 0, ZERO, ZERO, ZERO, 0))
        row.revenue, row.cost = row.revenue - price, row.cost - cost
        row.refunds, row.refund_count = row.refunds + price, row.refund_count + count
    result.rows = list(by_key.values()) if not reversed_sales else [by_key[k] for k in sorted(by_key, key=_sort_key)]
    if group == "category":
        result.rows = _by_category(result.rows)
    return result


def _by_category(rows: list[ReportRow]) -> list[ReportRow]:
    """The product rows added up per category, as each line names its products' categories
    (``ProductLine.category_label``: a card's type, a gift card's catalogue category)."""
    merged: dict[tuple, ReportRow] = {}
    for row in rows:
        service, line_type, plan_code, _value = row.key
        line = lines.find(service)
        label = line.category_label(line_type, plan_code) if line else f"{service} {line_type}"
        key = (service, label)
        total = merged.setdefault(key, ReportRow(key, label, 0, ZERO, ZERO, ZERO, 0))
        total.orders += row.orders
        total.revenue, total.cost, total.refunds = total.revenue + row.revenue, total.cost + row.cost, \
            total.refunds + row.refunds
        total.refund_count += row.refund_count
        total.below_cost_count += row.below_cost_count
    return sorted(merged.values(), key=lambda row: (row.key[0], row.label))


def _grouped(rows, group: str, prefix: str):
    """The report's keys for ``group`` on ``rows`` (orders, or events with ``prefix`` "order__"),
    annotated as needed: (the names of the key columns, the rows)."""
    if group == "day":
        moment = "created_at"  # the sale's day for an order, the reversal's day for an event
        return ["day"], rows.annotate(day=TruncDate(moment, tzinfo=timezone.get_current_timezone()))
    if group == "cashier":
        return [prefix + "created_by__username"], rows
    if group in ("product", "category"):
        # A card is its type and value; a line sold by plan (flexy) is its plan, whatever the amount typed.
        by_plan = [line.code for line in lines.all_lines() if not line.groups_by_value()]
        rows = rows.annotate(card_value=Case(When(**{prefix + "service__in": by_plan}, then=Value(None)),
                                             default=F(prefix + "value"), output_field=DecimalField()))
        return [prefix + "service", prefix + "line_type", prefix + "plan_code", "card_value"], rows
    if group == "service":
        return [prefix + "service"], rows
    return [prefix + "service", prefix + "line_type"], rows


def _reversals(since, until, group: str) -> dict[tuple, tuple[int, Decimal, Decimal]]:
    """The sales reversed from ``since`` to ``until`` (``REVERSED_LATER``: a card the provider took
    back), by report key: {key: (count, price, cost)}. Such a sale stays in the books of the day it
    was sold and leaves them the day it was reversed (the day of its move in the history)."""
    events = OrderEvent.objects.filter(to_status__in=REVERSED_LATER, created_at__gte=since, created_at__lt=until,
                                       order__status__in=REVERSED_LATER).order_by()
    keys, events = _grouped(events, group, "order__")
    rows = events.values(*keys).annotate(count=Count("order", distinct=True), price=Sum("order__price"),
                                         cost=Sum("order__cost"))
    return {tuple(r[k] for k in keys): (r["count"], _money(r["price"]), _money(r["cost"])) for r in rows}


def _sort_key(key: tuple) -> tuple:
    """The database's order of the report's rows (a blank last), for rows merged in Python."""
    return tuple((value is None, value if value is not None else 0) for value in key)


def _label(group: str, key: tuple) -> str:
    """How a report row is named: its day, cashier, product (card or mobile plan), line type or service."""
    if group == "day":
        return key[0].isoformat()
    if group == "cashier":
        return key[0] or "—"
    if group == "service":
        line = lines.find(key[0])
        return str(line.label) if line else key[0]
    if group in ("product", "category"):  # a category's rows are its products', added up after
        service, line_type, plan_code, value = key
        line = lines.find(service)
        return line.item_label(line_type, plan_code, value) if line else f"{service} {plan_code or line_type}"
    return _type_label(*key)


def _type_label(service: str, line_type: str) -> str:
    """The "by line type" row: a card's type, or the name of a line sold without one (flexy, gift
    cards): each line names its own rows."""
    line = lines.find(service)
    return (line.type_label(line_type, "") if line else "") or line_type or service


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
    # The value axis: (y, value) of each gridline (0, half the top, the top), written beside it.
    ticks: list[tuple[float, Decimal]] = field(default_factory=list)


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
        # A day whose sales were reversed (a card taken back) may end below zero: no bar below the axis.
        for j, (value, tone) in enumerate(((max(row.revenue, ZERO), "revenue"), (max(row.profit, ZERO), "profit"))):
            h = float(value / top) * (height - 4)
            offset = (1 - j) if rtl else j
            bars.append(Bar(round(left + slot * (0.1 + 0.4 * offset), 1), round(height - h, 1),
                            round(slot * 0.4, 1), round(h, 1), f"{day:%d/%m}", value, tone))
    ticks = []
    for share in (0, 0.5, 1):
        value = (top * Decimal(share)).quantize(Decimal(1))
        if not ticks or value != ticks[-1][1]:  # a tiny top (no sales) gives no repeated 0
            ticks.append((round(height - share * (height - 4), 1), value))
    return Chart(width, height, bars, top, labels, ticks)


def mix_chart(rows: list[ReportRow], *, rtl: bool = False, width: int = 720) -> Chart:
    """Revenue per product as horizontal bars (longest first); right to left, they grow leftwards."""
    rows = sorted(rows, key=lambda r: r.revenue, reverse=True)[:12]
    top = max([r.revenue for r in rows] + [Decimal(1)])
    bar_height, bars = 22, []
    labels, values = 200, 90  # the product names' column, and room for each bar's value at its end
    usable = width - labels - values
    for i, row in enumerate(rows):
        w = float(max(row.revenue, ZERO) / top) * usable  # a product whose sales were reversed: no bar
        x = (values + usable - w) if rtl else labels
        bars.append(Bar(round(x, 1), i * (bar_height + 6), round(w, 1), bar_height, row.label, row.revenue, "mix"))
    return Chart(width, max(len(rows), 1) * (bar_height + 6), bars, top)


# Cash sessions and prices ---------------------------------------------------------------------------


def recent_tills(limit: int = 100) -> list[Till]:
    return list(Till.objects.select_related("cashier", "approved_by").order_by("-opened_at", "-pk")[:limit])


def earlier_closes(till: Till) -> list[TillClose]:
    """The closes of a till undone by a reopen, oldest first, with who closed, approved and reopened."""
    return list(till.earlier_closes.select_related("closed_by", "approved_by", "reopened_by"))


def service_figures(till: Till) -> list[dict]:
    """A till's figures per service now, as stored at its close: [{service, orders, sales (its orders'
    prices), handed_back, handed_back_count (the entries booked in it, see tills)}], two queries."""
    rows: dict[str, dict] = {}
    for r in Order.objects.filter(till=till).order_by().values("service").annotate(orders=Count("pk"),
                                                                                 sales=Sum("price")):
        rows[r["service"]] = {"service": r["service"], "orders": r["orders"], "sales": str(_money(r["sales"])),
                              "handed_back": "0.00", "handed_back_count": 0}
    for r in HandBack.objects.filter(till=till).order_by().values("order__service").annotate(total=Sum("amount"),
                                                                                           count=Count("pk")):
        row = rows.setdefault(r["order__service"], {"service": r["order__service"], "orders": 0, "sales": "0.00"})
        row.update(handed_back=str(_money(r["total"])), handed_back_count=r["count"])
    return [rows[key] for key in sorted(rows)]


def till_by_service(till: Till) -> list[ReportRow]:
    """A till's orders, money taken and handed back per service (internet cards, mobile top-ups): the
    figures stored at its close for a closed session, else counted now (``service_figures``)."""
    stored = till.by_service if till.status != TillStatus.OPEN and till.by_service else None
    rows = stored if stored is not None else ([] if till.status != TillStatus.OPEN else service_figures(till))
    result = []
    for r in rows:
        sales, back = Decimal(r["sales"]), Decimal(r["handed_back"])
        result.append(ReportRow((r["service"],), _label("service", (r["service"],)), r["orders"], sales - back,
                                ZERO, back, r["handed_back_count"]))
    return result


def till_orders(till: Till, limit: int = 500) -> list[Order]:
    return list(Order.objects.filter(till=till).order_by("created_at", "pk")
                .only("ref", "service", "line_type", "plan_code", "value", "number", "status", "price",
                      "created_at")[:limit])


def till_hand_backs(till: Till, limit: int = 500) -> list[HandBack]:
    """The money handed back in a till, with the order and the session each was sold in."""
    return list(HandBack.objects.filter(till=till).select_related("order", "origin_till")
                .only("created_at", "amount", "status", "origin_till_id", "origin_till__opened_at", "order__ref",
                      "order__id").order_by("created_at", "pk")[:limit])


def price_list() -> list[tuple[Product, PriceRule | None, prices.Quote]]:
    """Every product with its own rule (or none: the default applies) and its price now."""
    book = prices.PriceBook()
    return [(p, book.rules.get((p.line_type, Decimal(p.value))), book.quote(p)) for p in Product.objects.all()]


def default_rule() -> PriceRule | None:
    return PriceRule.objects.filter(line_type="", plan_code="", operator="").first()


def flexy_price_list(sample=Decimal(1000)) -> list[dict]:
    """Every flexy plan (menu requests aside) with its fee rule, and the cost and price of one
    top-up: the plan's fixed amount, or ``sample`` DZD kept within a dynamic plan's range."""
    book = prices.PriceBook()
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
