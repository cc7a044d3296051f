"""What an order's status means, said when it is read: the sentence for staff (the receipt's
sentence for the customer is ``services.receipts.customer_message``) and the badge's tone. The pages
(through ``templatetags.dashboard``) and the status JSON the pages poll both ask here."""

from __future__ import annotations

from django.utils.translation import gettext as _

from topups.models import MENU_ANSWERED, OrderStatus, menu_answered
from topups.notes import refusal_reason

S = OrderStatus

# CSS class per status: what kind of outcome it is.
STATUS_TONE = {
    S.FULFILLED: "ok", S.REFUNDED: "bad", S.REFUSED: "bad", S.CANCELLED: "muted", S.TAKEN_BACK: "bad",
    S.QUEUED: "wait", S.ATTENTION: "warn", S.UNCERTAIN: "warn",
}


def status_explanation(status: str, refusal_code: str = "", *, code_in_full: bool = True,
                       line=None, menu: bool = False) -> str:
    """What the status means for the shop's staff, in one sentence (a receipt's sentence for the
    customer is ``services.receipts.customer_message``).

    ``code_in_full`` False (the code is masked for this user): no "give the customer the code", since
    there is none to give. ``line``: the order's product line, which may word a status its own way
    (flexy: credit sent to a number rather than a card code). ``menu``: a request for the number's
    offers (a GETMENU plan), which sells nothing.
    """
    if menu and status in MENU_ANSWERED:
        return _("The number's offers are listed below: send the one the customer wants. Nothing was charged.")
    if line is not None and (own := line.explanation(status, menu=menu)) is not None:
        return own
    if status in (S.NEW, S.SENDING, S.HANDLING, S.UNKNOWN):
        return _("The order is being processed. This page updates by itself; there is nothing to do.")
    if status == S.QUEUED:
        return _("Queued by Algérie Télécom: it will be processed within 12–48 h. This is not a failure; "
                 "the code will appear here once it is ready.")
    if status == S.FULFILLED:
        if not code_in_full:
            return _("Done: the card was delivered. Only the staff member who sold it or a supervisor "
                     "can see its code and print the receipt.")
        return _("Done: the card was delivered. Give the customer the code below.")
    if status == S.REFUNDED:
        return _("Failed: the cost was refunded to our account. Refund the customer.")
    if status == S.REFUSED:
        return _("Refused, nothing was charged: %(reason)s") % {"reason": refusal_reason(refusal_code)}
    if status == S.CANCELLED:
        return _("Cancelled before it was sent; nothing was charged.")
    if status == S.TAKEN_BACK:
        return _("The provider took this top-up back after delivering it (its card no longer works) and credited "
                 "our account. Hand the customer's money back.")
    if status == S.ATTENTION:
        return _("This order needs a supervisor's attention: its outcome could not be confirmed automatically. "
                 "Do not send it again.")
    return ""


def status_tone(status: str, plan_code: str = "") -> str:
    """The status badge's colour; a menu request answered (its offers received) is no failure."""
    if menu_answered(status, plan_code):
        return "ok"
    return STATUS_TONE.get(status, "run")
