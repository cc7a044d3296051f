"""The price maths, reads only: what a sale costs the customer (``quote``, ``PriceBook``), a mobile
top-up's cost (``cost_of``) and the refusal of a sale below its cost (``Quote.refusal``). No
writes, so the books' pages (selectors) price with it as the services do; the supervisors' rules
are saved by ``topups.services.pricing``, which tells the whole pricing story."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from topups.models import NETWORK_OF_OPERATOR, MobilePlan, PriceMode, PriceRule, Product

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Quote:
    """What the customer pays, and whether it is below what the card costs the shop."""

    price: Decimal
    cost: Decimal | None
    allow_below_cost: bool = False

    @property
    def below_cost(self) -> bool:
        return self.cost is not None and self.price < self.cost

    @property
    def refused(self) -> bool:
        """Refused at order entry: below cost without a supervisor's leave."""
        return self.below_cost and not self.allow_below_cost

    @property
    def profit(self) -> Decimal | None:
        return None if self.cost is None else self.price - self.cost

    def refusal(self, *, service: str) -> str | None:
        """Why a sale at this price may not go ahead (below cost without a supervisor's leave), or
        None: the one rule of every way an order is made, the counter, the admin's form and a bulk file."""
        return below_cost_message(service=service, price=self.price, cost=self.cost) if self.refused else None


def below_cost_message(*, service: str, price, cost) -> str:
    """The sentence refusing a sale below its cost (``Quote.refusal``; a bulk file's row words it again
    from its stored price and cost when read)."""
    from topups import lines

    line = lines.find(service) or next(lines.all_lines())  # each line words it (a card names its price)
    return line.below_cost_message(price)


def quote(*, cost: Decimal | None, face_value: Decimal, rule: PriceRule | None) -> Quote:
    """The price of one item from its cost (None: unknown) and the rule that applies (None: face value)."""
    if rule is None:
        return Quote(Decimal(face_value).quantize(CENT), cost)
    if rule.mode == PriceMode.FIXED:
        return Quote(Decimal(rule.amount).quantize(CENT), cost, rule.allow_below_cost)
    base = Decimal(cost if cost is not None else face_value)
    if rule.mode == PriceMode.MARGIN:
        price = base + rule.amount
    else:
        price = (base * (100 + rule.amount) / 100).quantize(CENT, ROUND_HALF_UP)
    if rule.rounding:
        step = Decimal(rule.rounding)
        price = (price / step).to_integral_value(ROUND_CEILING) * step
    return Quote(price.quantize(CENT), cost, rule.allow_below_cost)


class PriceBook:
    """The rules, read once (one query), to price many products: ``book.quote(product)``."""

    def __init__(self, rules=None) -> None:
        rules = list(PriceRule.objects.all()) if rules is None else list(rules)
        self.default = next((r for r in rules if r.is_default), None)
        self.rules = {(r.line_type, Decimal(r.value)): r for r in rules if r.line_type}
        self.plan_fees = {r.plan_code: r for r in rules if r.plan_code}
        self.operator_fees = {r.operator: r for r in rules if r.operator and not r.plan_code}
        self._operators: dict[str, str] | None = None

    def rule_for(self, line_type: str, value) -> PriceRule | None:
        return self.rules.get((line_type, Decimal(value))) or self.default

    def quote(self, product: Product) -> Quote:
        return quote(cost=product.cost, face_value=product.value, rule=self.rule_for(product.line_type, product.value))

    def quote_for(self, line_type: str, value, cost: Decimal | None) -> Quote:
        return quote(cost=cost, face_value=Decimal(value), rule=self.rule_for(line_type, value))

    def operator_of(self, plan_code: str) -> str:
        """The network a plan tops up (Mobilis for GMobilis, Pixx...): an operator's fee covers them all."""
        if self._operators is None:
            self._operators = {code: NETWORK_OF_OPERATOR.get(name, name)
                               for code, name in MobilePlan.objects.values_list("code", "operator")}
        return self._operators.get(plan_code, "")

    def mobile_rule_for(self, plan_code: str, operator: str | None = None) -> PriceRule | None:
        """The fee rule of a mobile plan: its own, else its operator's, else none (face value). The
        cards' shop default never applies: a markup on the cost would sell credit below its face value."""
        if plan_code in self.plan_fees:
            return self.plan_fees[plan_code]
        operator = self.operator_of(plan_code) if operator is None else operator
        return self.operator_fees.get(operator)

    def quote_mobile(self, plan_code: str, amount, cost: Decimal | None, operator: str | None = None) -> Quote:
        """The price of a mobile top-up of ``amount`` DZD on ``plan_code`` whose cost is estimated at
        ``cost`` (amount x multiplier): see the module's docstring; ``cost`` is kept as the estimate.
        A menu request (a GETMENU plan: the number only, amount 0) sells nothing."""
        if not amount:
            return Quote(Decimal("0.00"), cost)
        return mobile_quote(cost=cost, amount=Decimal(amount), rule=self.mobile_rule_for(plan_code, operator))


def debit_ceiling(amount, cost: Decimal | None) -> Decimal:
    """The most the API may debit for a mobile top-up of ``amount`` estimated at ``cost``. The API
    reference documents both: amount x the plan's multiplier (check-id's ``balance_amount`` 490 for
    500) and the full amount (the response-format example debits 500 for 500); which one applies is
    known only once the API answers. A price is never below the higher, so that no top-up is priced
    below what the API may take for it."""
    amount = Decimal(amount)
    return amount if cost is None else max(amount, Decimal(cost))


def mobile_quote(*, cost: Decimal | None, amount: Decimal, rule: PriceRule | None) -> Quote:
    """Face value plus the rule's fee (on the amount, not the cost), then never below the most the
    API may debit (``debit_ceiling``), raised to whole dinars (or the rule's rounding)."""
    price = amount if rule is None else quote(cost=None, face_value=amount, rule=rule).price
    floor = debit_ceiling(amount, cost)
    if price < floor:
        step = Decimal(rule.rounding) if rule is not None and rule.rounding else Decimal(1)
        price = (floor / step).to_integral_value(ROUND_CEILING) * step
    return Quote(price.quantize(CENT), cost, rule.allow_below_cost if rule is not None else False)


def price_for(product: Product) -> Quote:
    """The quote of one product (two small queries at most: its rule, and the default)."""
    return PriceBook(PriceRule.objects.filter(line_type__in=["", product.line_type],
                                              value__in=[0, product.value])).quote(product)


def quote_products(products) -> None:
    """Set ``product.sale`` (its Quote) on each product, for the pages that list them."""
    book = PriceBook()
    for product in products:
        product.sale = book.quote(product)


def below_cost_products(products=None, *, book: PriceBook | None = None) -> list[tuple[Product, Quote]]:
    """The products on sale whose price is below their cost (the dashboard's flag), priced by
    ``book`` (default: the rules saved now)."""
    book = book or PriceBook()
    products = Product.objects.filter(available=True) if products is None else products
    return [(p, q) for p in products if (q := book.quote(p)).below_cost]


def cost_of(plan: MobilePlan, amount: Decimal) -> Decimal | None:
    """amount × the plan's multiplier, to the cent; None when the API gives no multiplier."""
    if plan.multiplier is None:
        return None
    return (Decimal(amount) * plan.multiplier).quantize(CENT, ROUND_HALF_UP)
