"""Receipts: what a customer's paper carries beyond the order (the shop's details, the price paid,
how to use the card in the receipt's language), and the count of prints. The first print is the
original; every later one is marked DUPLICATE, counted on the order and audited."""

from __future__ import annotations

from django.conf import settings
from django.db.models import F
from django.utils.translation import get_language

from topups.models import CardInstructions, Order
from topups.services import audit
from topups.services.actors import Actor


def printed(request, order: Order) -> dict:
    """Count one print of the order's receipt (an atomic increment) and return the template's
    extras: ``duplicate``, ``print_number``, the shop's details and the card's instructions."""
    Order.objects.filter(pk=order.pk).update(receipt_prints=F("receipt_prints") + 1)
    number = Order.objects.values_list("receipt_prints", flat=True).get(pk=order.pk)
    if number > 1:
        audit.record(actor=Actor.user(request.user), action="receipt_reprint", target=order.ref,
                     detail={"print": number}, request=request)
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    instructions = (CardInstructions.objects.filter(line_type=order.line_type, language=language)
                    .values_list("text", flat=True).first())
    return {"duplicate": number > 1, "print_number": number, "shop_address": settings.SHOP_ADDRESS,
            "shop_phone": settings.SHOP_PHONE, "instructions": instructions or ""}
