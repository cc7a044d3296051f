"""Receipts: what a customer's paper carries beyond the order (the shop's details, the price paid,
what happens next and how to use the card, in the receipt's language), and the count of prints.
The first print is the original; every later one is marked DUPLICATE. Each print is counted on the
order and audited with who printed it, by a POST only (a GET shows what the next print will be and
changes nothing), and only when the receipt is printable for that person: a card code they may not
see gives no paper, so it cannot use up the seller's original.

What a receipt tells the customer is ours (``customer_message``), chosen by the order's state and
translated when the receipt is printed; the API's own messages (``refund_message``, refusal
reasons) are written for the shop and stay on the staff's screens."""

from __future__ import annotations

from django.conf import settings
from django.db.models import F
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from topups.models import CardInstructions, Order, OrderStatus
from topups.services import audit
from topups.services.actors import Actor

S = OrderStatus
PROCESSING = frozenset({S.NEW, S.SENDING, S.UNKNOWN, S.HANDLING})


def customer_message(order: Order) -> str:
    """The sentence a receipt prints for the customer: what the order's state means for them and,
    when they paid and have nothing yet, what happens next and how they get their card or credit."""
    status = order.status
    if order.is_menu:
        return _("A request for the number's offers: nothing was charged.")
    if (own := order.line.customer_message(order)) is not None:
        return own
    if status == S.FULFILLED:
        return _("Done: your card is below.")
    if status == S.QUEUED:
        return _("Paid. Algérie Télécom is preparing your card: it takes 12 to 48 hours. Keep this receipt and "
                 "come back to the shop with it to get your card code; you may call the shop first to ask "
                 "whether it is ready.")
    if status in PROCESSING:
        return _("Paid. Your card is being prepared. Keep this receipt: if the code is not ready before you "
                 "leave, come back to the shop with it to get your card code.")
    if status == S.UNCERTAIN:
        return _("Paid. The operator has not confirmed the top-up yet; it is settled within 24 hours. Keep "
                 "this receipt: if the credit has not arrived by then, come back to the shop with it.")
    if status == S.ATTENTION:
        return _("Paid. The shop is checking your order. Keep this receipt and come back to the shop with "
                 "it; you may call the shop first.")
    if status == S.REFUNDED:
        return _("The top-up could not be delivered. The shop hands you back what you paid.")
    if status == S.REFUSED:
        return _("The top-up was refused and nothing was sent. The shop hands you back what you paid.")
    if status == S.CANCELLED:
        return _("Cancelled before it was sent. The shop hands you back what you paid.")
    if status == S.TAKEN_BACK:
        return _("Cancelled: the provider took the top-up back after delivering it; its price is refunded.")
    return ""


class NotPrintable(Exception):
    """This receipt would carry a card code the reader may not see in full: nothing is counted."""


def printable(order: Order) -> bool:
    """Whether the reader may print this receipt: anything but a card whose code is masked for
    them (``audit.show_order_codes`` has set ``order.code_in_full``)."""
    return order.status != OrderStatus.FULFILLED or not order.line.delivers_code or getattr(order, "code_in_full", False)


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


def card_instructions(order: Order) -> str:
    """How to use the order's card, in the active language (the shop's text per line type)."""
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    return (CardInstructions.objects.filter(line_type=order.line_type, language=language)
            .values_list("text", flat=True).first()) or ""


def _paper(order: Order) -> dict:
    return {"shop_address": settings.SHOP_ADDRESS, "shop_phone": settings.SHOP_PHONE,
            "instructions": card_instructions(order), "customer_message": customer_message(order)}
