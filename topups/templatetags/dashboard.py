"""Template helpers of the staff dashboard: order status in plain language (``topups.status_words``), money.

Card codes are not computed here: views pass each order's ``shown_code`` (through
``topups.services.audit.show_codes``, which audits what it reveals) and templates print it."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from topups import lines
from topups.models import OrderStatus, is_menu_code
from topups.notes import actor_shown, ledger_type_shown, refusal_reason
from topups.status_words import status_explanation, status_tone

register = template.Library()
S = OrderStatus

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


register.filter("status_tone", status_tone)


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

