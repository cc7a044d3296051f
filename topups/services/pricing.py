"""Selling prices: the one place a price is decided (``quote``), and the supervisors' price rules.

A rule is a fixed price, a margin (DZD added to the cost) or a markup (percent added to the cost),
rounded up to 5 or 10 DA. A product without its own rule takes the shop-wide default; with no
default either, the card sells at its face value. Margin and markup prices are computed from the
current cost every time, so they follow the catalog sync's cost changes; fixed prices stay.

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

from topups.models import PriceMode, PriceRule, Product, Rounding
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
        self.rules = {(r.line_type, Decimal(r.value)): r for r in rules if not r.is_default}

    def rule_for(self, line_type: str, value) -> PriceRule | None:
        return self.rules.get((line_type, Decimal(value))) or self.default

    def quote(self, product: Product) -> Quote:
        return quote(cost=product.cost, face_value=product.value, rule=self.rule_for(product.line_type, product.value))

    def quote_for(self, line_type: str, value, cost: Decimal | None) -> Quote:
        return quote(cost=cost, face_value=Decimal(value), rule=self.rule_for(line_type, value))

    def mobile_rule_for(self, plan_code: str) -> PriceRule | None:
        """The rule of a mobile plan: the shop default when it is a margin or a markup (on the cost,
        amount x the plan's multiplier, or on the amount when the API gives no multiplier). A fixed
        price would sell every amount at one price: it does not apply, the top-up sells at its amount."""
        if self.default is None or self.default.mode == PriceMode.FIXED:
            return None
        return self.default

    def quote_mobile(self, plan_code: str, amount, cost: Decimal | None) -> Quote:
        """The price of a mobile top-up of ``amount`` DZD on ``plan_code`` whose cost is estimated at
        ``cost`` (amount x multiplier): the shop's rule applied to the most the API may debit
        (``debit_ceiling``), with ``cost`` kept as the estimate. A menu request (a GETMENU plan: the
        number only, amount 0) sells nothing."""
        if not amount:
            return Quote(Decimal("0.00"), cost)
        sold = quote(cost=debit_ceiling(amount, cost), face_value=Decimal(amount), rule=self.mobile_rule_for(plan_code))
        return Quote(sold.price, cost, sold.allow_below_cost)


def debit_ceiling(amount, cost: Decimal | None) -> Decimal:
    """The most the API may debit for a mobile top-up of ``amount`` estimated at ``cost``. The API
    reference documents both: amount x the plan's multiplier (check-id's ``balance_amount`` 490 for
    500) and the full amount (the response-format example debits 500 for 500); which one applies is
    known only once the API answers. A price is computed from the higher, so that no top-up is priced
    below what the API may take for it."""
    amount = Decimal(amount)
    return amount if cost is None else max(amount, Decimal(cost))


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
             actor: Actor, request=None) -> PriceRule:
    """Create or change the rule of one product (``line_type`` blank: the shop default), audited
    with its old and new terms. A price below the cost of a card it applies to (the shop default:
    every card on sale without its own rule) is refused unless ``allow_below_cost``; bad input raises ValidationError and changes nothing."""
    amount = parse_amount(amount)
    if mode not in PriceMode.values:
        raise ValidationError(_("Choose how the price is set."))
    if int(rounding) not in Rounding.values:
        raise ValidationError(_("Choose a rounding."))
    value = Decimal(value) if line_type else Decimal(0)
    with transaction.atomic():
        rule = PriceRule.objects.select_for_update().filter(line_type=line_type, value=value).first()
        before = _terms(rule) if rule else None
        rule = rule or PriceRule(line_type=line_type, value=value)
        rule.mode, rule.amount, rule.rounding = mode, amount, int(rounding)
        rule.allow_below_cost, rule.updated_by_id, rule.updated_at = allow_below_cost, actor.user_id, timezone.now()
        _refuse_below_cost(rule)
        rule.save()
        audit.record(actor=actor, action="price_rule", target=str(rule) if line_type else "default",
                     detail={"before": before, "after": _terms(rule)}, request=request)
    return rule


def _refuse_below_cost(rule: PriceRule) -> None:
    """The one below-cost check of a rule being saved: a product's rule against that product's
    cost; the shop-wide default against every card on sale that has no rule of its own (a fixed
    default of 1.50 DA would otherwise be saved, and every such card refused at the counter).
    Raises ValidationError unless the rule allows selling below cost."""
    if rule.allow_below_cost:
        return
    others = PriceRule.objects.exclude(line_type=rule.line_type, value=rule.value)
    book = PriceBook([*others, rule])
    if rule.line_type:
        products = Product.objects.filter(line_type=rule.line_type, value=rule.value)
    else:
        products = Product.objects.filter(available=True)
    below = below_cost_products(products, book=book)
    if not below:
        return
    product, _quote = below[0]
    if rule.line_type:
        raise ValidationError(_("This price is below the card's cost (%(cost)s DA): a supervisor must "
                                "allow selling it below cost.") % {"cost": product.cost})
    raise ValidationError(_("This price is below the cost of %(product)s (%(cost)s DA), which has no price of "
                            "its own: a supervisor must allow selling below cost.")
                          % {"product": product, "cost": product.cost})


def _terms(rule: PriceRule) -> dict:
    return {"mode": rule.mode, "amount": str(rule.amount), "rounding": rule.rounding,
            "allow_below_cost": rule.allow_below_cost}
