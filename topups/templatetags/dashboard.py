"""Template helpers of the staff dashboard: order status in plain language, money.

Card codes are not computed here: views pass each order's ``shown_code`` (through
``topups.services.audit.show_codes``, which audits what it reveals) and templates print it."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from topups import lines
from topups.models import MENU_ANSWERED, OrderStatus, is_menu_code, menu_answered
from topups.notes import actor_shown, ledger_type_shown, refusal_reason

register = template.Library()
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


@register.simple_tag
def explain_status(order) -> str:
    """``status_explanation`` for an order whose codes went through ``audit.show_order_codes``."""
    return status_explanation(order.status, order.refusal_code,
                              code_in_full=getattr(order, "code_in_full", True), line=order.line,
                              menu=is_menu_code(order.plan_code))


register.filter("actor_shown", actor_shown)
register.filter("refusal_reason", refusal_reason)
register.filter("ledger_type_shown", ledger_type_shown)


@register.filter
def sold_kind(order) -> str:
    """What kind of sale an order is, in a table's cell ("ADSL", "Flexy PREPAID")."""
    return order.line.kind_label(order.line_type, order.plan_code)


@register.filter
def row_kind(row: dict) -> str:
    """A bulk file row's kind of sale, from its checked values or, failing those, its cells."""
    line = lines.find(row.get("service") or "")
    if line is None or not (row.get("line_type") or row.get("plan_code")):
        return row["input"].get("plan_code") or row["input"].get("type", "")
    return line.kind_label(row["line_type"], row["plan_code"])


@register.filter
def status_tone(status: str, plan_code: str = "") -> str:
    """The status badge's colour; a menu request answered (its offers received) is no failure."""
    if menu_answered(status, plan_code):
        return "ok"
    return STATUS_TONE.get(status, "run")


@register.filter
def product_key(product) -> str:
    """The value select's option value for a product: "<type>:<value>"."""
    from topups.keys import value_key

    return value_key(product.line_type, product.value)


@register.filter
def keep_together(text: str, part: str):
    """``text`` with ``part`` (a reference) in one isolated left-to-right piece that never breaks
    across lines: a heading "Order OC-261128-…" wraps before the ref, not at its dashes, and the
    ref reads the same in Arabic."""
    text, escaped = str(conditional_escape(text)), str(conditional_escape(part))
    return mark_safe(text.replace(escaped, str(format_html('<bdi class="nowrap" dir="ltr">{}</bdi>', part)), 1))


@register.filter
def code_groups(code: str) -> list[str]:
    """A card code in groups of four for reading aloud and typing ("1234 5678 9012"); a masked or
    spaced code keeps its own pieces. The receipt prints each group unbroken."""
    code = str(code or "")
    if " " in code or not code.isalnum():
        return code.split() or [code]
    return [code[i:i + 4] for i in range(0, len(code), 4)]


@register.filter
def under_a_minute(moment, now) -> bool:
    """True when ``moment`` is less than a minute before ``now``: "just now", not "0 minutes ago"."""
    return moment is not None and now is not None and (now - moment).total_seconds() < 60


@register.filter
def dzd(amount, places: str = "2") -> str:
    """An amount in dinars as the reader's language writes it: grouped digits and «DA» / «دج»."""
    from django.template.defaultfilters import floatformat

    if amount is None or amount == "":
        return "—"
    return _("%(amount)s DA") % {"amount": floatformat(amount, f"{places}g")}


@register.filter
def rule_amount(rule) -> str:
    """A price rule's amount as the reader's language writes it: a markup in percent, any other
    (a fixed price, a margin) in dinars."""
    from django.template.defaultfilters import floatformat

    from topups.models import PriceMode

    if rule.mode == PriceMode.MARKUP:
        return f"{floatformat(rule.amount, '-2g')} %"
    return dzd(rule.amount)

