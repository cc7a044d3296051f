"""The receipt's claim block: ``{% claim_for order as claim %}`` gives the order's live link, its
address and its QR code (or None when the receipt carries no link), in the receipt's language."""

from __future__ import annotations

from django import template
from django.utils import translation
from django.utils.safestring import mark_safe

from topups.services import claims

register = template.Library()


@register.simple_tag(takes_context=True)
def claim_for(context, order):
    request = context.get("request")
    link = claims.live_link(order, language=(translation.get_language() or "en")[:2],
                            base_url=request.build_absolute_uri("/") if request is not None else "")
    if link is None:
        return None
    url = claims.claim_url(link, request)
    # segno writes the SVG from the URL alone (no markup of ours or the customer's in it).
    return {"link": link, "url": url, "qr": mark_safe(claims.qr_svg(url))}  # noqa: S308
