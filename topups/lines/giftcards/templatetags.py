"""Template filters of the gift-card pages ({% load giftcards %}): an order's cards as (value,
serial) pairs from the code as shown, and the names of what it sold."""

from __future__ import annotations

from django import template

from topups.lines.giftcards import cards as gift_cards

register = template.Library()


@register.filter
def gift_cards_of(shown_code: str) -> list:
    """The cards of ``order.shown_code`` (as the visibility rule shows it): a masked text is one
    card whose value is the mask, with no serial."""
    text = str(shown_code or "")
    if "•" in text:
        return [gift_cards.GiftCard(text, "")]
    return gift_cards.from_text(text)


@register.filter
def gift_item(order) -> str:
    return order.line.item_label(order.line_type, order.plan_code, None)


@register.filter
def gift_quantity(order) -> int:
    return gift_cards.quantity_of(order)


@register.filter
def gift_handed_back(order):
    """What a partial fill handed back to the customer (its share of the price), or None."""
    if order.api_status != "PARTIALLY_FILLED":
        return None
    return gift_cards.undelivered_share(order, order.price)


@register.filter
def gift_instructions(order, language: str) -> str:
    from topups.lines.giftcards.catalog import split_plan
    from topups.models import GiftInstructions

    product_id = split_plan(order.plan_code)[0]
    row = GiftInstructions.objects.filter(product__product_id=product_id, language=language).first()
    return row.text if row else ""
