"""Selling prices: the supervisors' price rules (saved here, audited) and the one place a price is
decided (``quote``, in ``topups.prices``: reads only, so the books' selectors use it too; its names
are said ``pricing.X`` here as before).

A rule is a fixed price, a margin (DZD added to the cost) or a markup (percent added to the cost),
rounded up to 5 or 10 DA. A product without its own rule takes the shop-wide default; with no
default either, the card sells at its face value. Margin and markup prices are computed from the
current cost every time, so they follow the catalog sync's cost changes; fixed prices stay.

Flexy (mobile credit) is sold as shops sell it: the customer pays the credit's face value, plus the
fee of the plan's own rule or else its operator's (the network: Mobilis, Djezzy, Ooredoo; a margin in DZD or a markup in percent of the
amount), never the cards' default. Whatever the rule, the price never falls below the most the API
may debit (``debit_ceiling``: the higher of amount x the plan's multiplier and the full amount, the two
debits the API documents): ``quote_mobile`` raises it to that, whole dinars. The order's cost is then
corrected to what the API debited (``planning.cost_from_api``).

``quote`` knows nothing of cards: it takes a cost and a rule, so another service (mobile top-ups,
whose cost is amount x multiplier) prices the same way. The order form, the order page, the
dashboard's below-cost flag, the bulk preview and the receipt all go through it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from topups.inputs import parse_amount
from topups.models import MobilePlan, PriceMode, PriceRule, Product, Rounding
from topups.prices import (  # noqa: F401 (the price maths, said pricing.X by its callers)
    CENT,
    PriceBook,
    Quote,
    below_cost_message,
    below_cost_products,
    debit_ceiling,
    mobile_quote,
    price_for,
    quote,
    quote_products,
)
from topups.services import audit
from topups.services.actors import Actor


def set_rule(*, line_type: str, value, mode: str, amount, rounding: int = 0, allow_below_cost: bool = False,
             plan_code: str = "", operator: str = "", actor: Actor, request=None) -> PriceRule:
    """Create or change the rule of one product (``line_type`` blank: the shop default), or the flexy
    fee of one plan (``plan_code``) or operator (``operator``), audited with its old and new terms.
    A price below the cost of an item it applies to (the shop default: every card on sale without
    its own rule; a flexy fee: its plans) is refused unless ``allow_below_cost`` (``_refuse_below_cost``);
    a flexy fee is a margin or a markup (a fixed price would sell every amount at one price); bad
    input raises ValidationError and changes nothing."""
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
        _refuse_below_cost(rule)
        rule.save()
        audit.record(actor=actor, action="price_rule", target=str(rule) if not rule.is_default else "default",
                     detail={"before": before, "after": _terms(rule)}, request=request)
    return rule


def _refuse_below_cost(rule: PriceRule) -> None:
    """The one below-cost check of a rule being saved: a product's rule against that product's
    cost; the shop-wide default against every card on sale that has no rule of its own (a fixed
    default of 1.50 DA would otherwise be saved, and every such card refused at the counter); a
    flexy fee against the plans it prices (their most expensive amount at their multiplier).
    Raises ValidationError unless the rule allows selling below cost."""
    if rule.allow_below_cost:
        return
    others = PriceRule.objects.exclude(line_type=rule.line_type, value=rule.value,
                                       plan_code=rule.plan_code, operator=rule.operator)
    book = PriceBook([*others, rule])
    if rule.plan_code or rule.operator:
        _refuse_mobile_below_cost(rule, book)
        return
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


def _refuse_mobile_below_cost(rule: PriceRule, book: PriceBook) -> None:
    """A flexy fee's part of the check: each plan it prices, at its largest amount and the cost the
    API may debit for it (``quote_mobile`` floors the price there, so a fee passes unless the
    pricing itself went wrong)."""
    plans = MobilePlan.objects.filter(is_enabled=True)
    plans = plans.filter(code=rule.plan_code) if rule.plan_code else plans
    for plan in plans:
        if book.mobile_rule_for(plan.code) is not rule:
            continue
        amount = plan.amount or plan.max_amount or plan.min_amount
        if not amount:
            continue
        cost = (Decimal(amount) * plan.multiplier).quantize(CENT, ROUND_HALF_UP) if plan.multiplier is not None else None
        if book.quote_mobile(plan.code, amount, cost).below_cost:
            raise ValidationError(_("This price is below the card's cost (%(cost)s DA): a supervisor must "
                                    "allow selling it below cost.") % {"cost": cost})


def _terms(rule: PriceRule) -> dict:
    return {"mode": rule.mode, "amount": str(rule.amount), "rounding": rule.rounding,
            "allow_below_cost": rule.allow_below_cost}
