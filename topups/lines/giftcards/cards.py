"""A gift-card order's delivered cards, kept in ``Order.card_code``: encrypted at rest like a card
code, shown through the same visibility rule and audited reveal (``audit.show_codes``). The text is
the cards one after the other, each as two lines: its value (the code / PIN), then its serial. A
reader who may not see codes gets the whole text masked to its last 4 characters, as for a code."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from topups.oneclick import GiftCard, mask_code

__all__ = ["GiftCard", "as_text", "from_text", "masked_payload", "quantity_of", "undelivered_share"]

CENT = Decimal("0.01")


def as_text(cards) -> str:
    return "\n".join(f"{card.value}\n{card.serial}" for card in cards)


def from_text(text: str) -> list[GiftCard]:
    lines = (text or "").split("\n")
    return [GiftCard(lines[i], lines[i + 1] if i + 1 < len(lines) else "") for i in range(0, len(lines), 2)
            if lines[i]]


def masked_payload(raw: dict) -> dict:
    """A gift order's answer for the history: every card's value masked, serials kept."""
    payload = dict(raw)
    if isinstance(payload.get("cards"), list):
        payload["cards"] = [{**card, "value": mask_code(str(card.get("value", "")))} if isinstance(card, dict)
                            else "•" for card in payload["cards"]]
    return payload


def quantity_of(order) -> int:
    """How many cards the order asks: stored in ``Order.number`` (a gift order has no line number)."""
    text = (order.number or "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else 1


def delivered_of(order) -> int:
    return len(from_text(order.card_code)) if order.card_code else 0


def undelivered_share(order, amount: Decimal | None) -> Decimal | None:
    """The part of ``amount`` (the order's price) for the cards not delivered."""
    if amount is None:
        return None
    quantity = quantity_of(order)
    missing = max(quantity - delivered_of(order), 0)
    return (Decimal(amount) * missing / quantity).quantize(CENT, ROUND_HALF_UP)
