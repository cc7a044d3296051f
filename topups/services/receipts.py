"""Receipts: what a customer's paper carries beyond the order (the shop's details, the price paid,
how to use the card in the receipt's language), and the count of prints. The first print is the
original; every later one is marked DUPLICATE. Each print is counted on the order and audited with
who printed it, by a POST only (a GET shows what the next print will be and changes nothing), and
only when the receipt is printable for that person: a card code they may not see gives no paper,
so it cannot use up the seller's original."""

from __future__ import annotations

from django.conf import settings
from django.db.models import F
from django.utils.translation import get_language

from topups.models import CardInstructions, Order, OrderStatus
from topups.services import audit
from topups.services.actors import Actor


class NotPrintable(Exception):
    """This receipt would carry a card code the reader may not see in full: nothing is counted."""


def printable(order: Order) -> bool:
    """Whether the reader may print this receipt: anything but a card whose code is masked for
    them (``audit.show_order_codes`` has set ``order.code_in_full``)."""
    return order.status != OrderStatus.FULFILLED or order.is_mobile or getattr(order, "code_in_full", False)


def preview(order: Order) -> dict:
    """The template's extras for a look at the receipt (nothing counted): the next print's number."""
    number = order.receipt_prints + 1
    return {**_paper(order), "duplicate": number > 1, "print_number": number, "printable": printable(order)}


def printed(request, order: Order) -> dict:
    """Count one print of the order's receipt (an atomic increment), audited with who printed it,
    and return the template's extras: ``duplicate``, ``print_number``, the shop's details and the
    card's instructions. Raises NotPrintable, counting nothing, when the reader may not print it."""
    if not printable(order):
        raise NotPrintable(order.ref)
    Order.objects.filter(pk=order.pk).update(receipt_prints=F("receipt_prints") + 1)
    number = Order.objects.values_list("receipt_prints", flat=True).get(pk=order.pk)
    audit.record(actor=Actor.user(request.user), action="receipt_print" if number == 1 else "receipt_reprint",
                 target=order.ref, detail={"print": number}, request=request)
    return {**_paper(order), "duplicate": number > 1, "print_number": number, "printable": True}


def _paper(order: Order) -> dict:
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    instructions = (CardInstructions.objects.filter(line_type=order.line_type, language=language)
                    .values_list("text", flat=True).first())
    return {"shop_address": settings.SHOP_ADDRESS, "shop_phone": settings.SHOP_PHONE,
            "instructions": instructions or ""}
