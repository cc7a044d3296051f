"""Selling prices: the one place a price is decided (``quote``), and the supervisors' price rules.

A rule is a fixed price, a margin (DZD added to the cost) or a markup (percent added to the cost),
rounded up to 5 or 10 DA. A product without its own rule takes the shop-wide default; with no
default either, the card sells at its face value. Margin and markup prices are computed from the
current cost every time, so they follow the catalog sync's cost changes; fixed prices stay.

Flexy (mobile credit) is sold as shops sell it: the customer pays the credit's face value, plus the
fee of the plan's own rule or else its operator's (the network: Mobilis, Djezzy, Ooredoo; a margin in DZD or a markup in percent of the
amount), never the cards' default. Whatever the rule, the price never falls below what the API
debits (amount x the plan's multiplier): ``quote_mobile`` raises it to the cost, whole dinars.

``quote`` knows nothing of cards: it takes a cost and a rule, so another service (mobile top-ups,
whose cost is amount x multiplier) prices the same way. The order form, the order page, the
dashboard's below-cost flag, the bulk preview and the receipt all go through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from topups.models import NETWORK_OF_OPERATOR, MobilePlan, PriceMode, PriceRule, Product, Rounding
from topups.services import audit
from topups.services.actors import Actor

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
        """The price of a mobile top-up of ``amount`` DZD on ``plan_code`` costing ``cost``: see the
        module's docstring. A menu request (a GETMENU plan: the number only, amount 0) sells nothing."""
        if not amount:
            return Quote(Decimal("0.00"), cost)
        return mobile_quote(cost=cost, amount=Decimal(amount), rule=self.mobile_rule_for(plan_code, operator))


def mobile_quote(*, cost: Decimal | None, amount: Decimal, rule: PriceRule | None) -> Quote:
    """Face value plus the rule's fee (on the amount, not the cost), then never below the cost."""
    price = amount if rule is None else quote(cost=None, face_value=amount, rule=rule).price
    if cost is not None and price < cost:
        step = Decimal(rule.rounding) if rule is not None and rule.rounding else Decimal(1)
        price = (Decimal(cost) / step).to_integral_value(ROUND_CEILING) * step
    return Quote(price.quantize(CENT), cost)


def price_for(product: Product) -> Quote:
    """The quote of one product (two small queries at most: its rule, and the default)."""
    return PriceBook(PriceRule.objects.filter(line_type__in=["", product.line_type],
                                              value__in=[0, product.value])).quote(product)


def quote_products(products) -> None:
    """Set ``product.sale`` (its Quote) on each product, for the pages that list them."""
    book = PriceBook()
    for product in products:
        product.sale = book.quote(product)


def below_cost_products(products=None) -> list[tuple[Product, Quote]]:
    """The products on sale whose price is below their cost (the dashboard's flag)."""
    book = PriceBook()
    products = Product.objects.filter(available=True) if products is None else products
    return [(p, q) for p in products if (q := book.quote(p)).below_cost]


def parse_amount(raw) -> Decimal:
    """A price or an amount typed by a person: a number, not negative, at most 2 decimals."""
    try:
        amount = Decimal(str(raw).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Enter a number, such as 1050 or 1050.50.")) from None
    if not amount.is_finite():
        raise ValidationError(_("Enter a number, such as 1050 or 1050.50."))
    if amount < 0:
        raise ValidationError(_("The amount cannot be negative."))
    if amount.as_tuple().exponent < -2:
        raise ValidationError(_("At most 2 decimals."))
    return amount


def set_rule(*, line_type: str, value, mode: str, amount, rounding: int = 0, allow_below_cost: bool = False,
             plan_code: str = "", operator: str = "", actor: Actor, request=None) -> PriceRule:
    """Create or change the rule of one product (``line_type`` blank: the shop default), or the flexy
    fee of one plan (``plan_code``) or operator (``operator``), audited with its old and new terms.
    A fixed price below the product's cost is refused unless ``allow_below_cost``; a flexy fee is a
    margin or a markup (a fixed price would sell every amount at one price); bad input raises
    ValidationError and changes nothing."""
    amount = parse_amount(amount)
    if mode not in PriceMode.values:
        raise ValidationError(_("Choose how the price is set."))
    if int(rounding) not in Rounding.values:
        raise ValidationError(_("Choose a rounding."))
    mobile = bool(plan_code or operator)
    if mobile and mode == PriceMode.FIXED:
        raise ValidationError(_("A flexy fee is a margin in DA or a markup in percent of the amount, not a fixed price."))
    if mobile:
        line_type, operator = "", "" if plan_code else operator
    value = Decimal(value) if line_type else Decimal(0)
    target = {"line_type": line_type, "value": value, "plan_code": plan_code, "operator": operator}
    with transaction.atomic():
        rule = PriceRule.objects.select_for_update().filter(**target).first()
        before = _terms(rule) if rule else None
        rule = rule or PriceRule(**target)
        rule.mode, rule.amount, rule.rounding = mode, amount, int(rounding)
        rule.allow_below_cost, rule.updated_by_id, rule.updated_at = allow_below_cost, actor.user_id, timezone.now()
        if line_type and not allow_below_cost:
            product = Product.objects.filter(line_type=line_type, value=value).first()
            if product is not None and quote(cost=product.cost, face_value=value, rule=rule).below_cost:
                raise ValidationError(_("This price is below the card's cost (%(cost)s DA): a supervisor must "
                                        "allow selling it below cost.") % {"cost": product.cost})
        rule.save()
        audit.record(actor=actor, action="price_rule", target=str(rule) if not rule.is_default else "default",
                     detail={"before": before, "after": _terms(rule)}, request=request)
    return rule


def _terms(rule: PriceRule) -> dict:
    return {"mode": rule.mode, "amount": str(rule.amount), "rounding": rule.rounding,
            "allow_below_cost": rule.allow_below_cost}
