"""The customer's page behind a receipt's claim link, and the counter's two actions on a link
(the customer's contact for notices, revoking a link to print a new one).

The public page is outside the staff dashboard: no login, no staff menu, no session and no cookie
but CSRF's (its one form is the digits), no cache, and no referrer to any other site (the token is in its address).
Throttled per address on every request and per token and address on every try of the digits.
An unknown, revoked or expired token all get the same answer, which shows nothing."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from topups import selectors
from topups.http import client_ip
from topups.models import Order
from topups.services import claims, receipts
from topups.services.actors import Actor

PAGE = "claims.page"
TRIES_PER_TOKEN = "claims.tries-token"
TRIES_PER_ADDRESS = "claims.tries-address"


def _by_address(group, request) -> str:
    return client_ip(request) or "unknown"


def _by_token(group, request) -> str:
    return request.resolver_match.kwargs.get("token", "")


def _throttled(request, group: str, key, rate: str) -> bool:
    return is_ratelimited(request, group=group, key=key, rate=rate, increment=True)


def _public(response):
    """No cache for the page whose address is its key; its referrer stays the site's same-origin
    (no other site is ever told the address; "no-referrer" would make the browser post its form
    with ``Origin: null``, which CSRF rightly refuses)."""
    add_never_cache_headers(response)
    patch_cache_control(response, no_store=True, private=True)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_http_methods(["GET", "POST"])
def claim_page(request, token: str):
    """The order's state in plain words in the customer's language (the receipt's, or ``lang``);
    once delivered, what was delivered (the line's own fragment, ``ProductLine.templates.claim_delivered``)
    after the last four digits of the number that was topped up are typed."""
    languages = dict(settings.LANGUAGES)
    if _throttled(request, PAGE, _by_address, settings.CLAIM_PAGE_RATE):
        return _answer(request, "claims/page.html", {"throttled": True}, None, status=429)
    claim = claims.find(token)
    if claim is None:
        return _answer(request, "claims/page.html", {"gone": True}, None, status=404)
    source = request.POST if request.method == "POST" else request.GET
    language = source.get("lang") if source.get("lang") in languages else claim.link.language
    context = {"claim": claim, "order": claim.order, "token": token, "tried": request.method == "POST"}
    status = 200
    if request.method == "POST" and claim.delivered:
        if (_throttled(request, TRIES_PER_TOKEN, _by_token, settings.CLAIM_TRY_RATE)
                or _throttled(request, TRIES_PER_ADDRESS, _by_address, settings.CLAIM_TRY_RATE)):
            context["throttled"], status = True, 429
        elif claims.digits_match(claim.order, source.get("digits", "")):
            context["shown_code"] = claims.reveal(request, claim)
            context["open"] = True
        else:
            context["wrong"], status = True, 403
    with translation.override(language):
        if context.get("open"):
            context["instructions"] = receipts.card_instructions(claim.order)
        context["message"] = receipts.customer_message(claim.order)
        return _answer(request, "claims/page.html", context, language, status=status)


def _answer(request, template: str, context: dict, language: str | None, *, status: int):
    languages = [(code, translation.get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES]
    with translation.override(language or translation.get_language()):
        response = render(request, template, {**context, "languages": languages, "shop_name": settings.SHOP_NAME,
                                              "shop_phone": settings.SHOP_PHONE}, status=status)
    return _public(response)


def _order(pk: int) -> Order:
    order = selectors.order_detail(pk)
    if order is None:
        raise Http404(_("No such order."))
    return order


def _back_to_receipt(request, order: Order):
    query = "?" + "&".join(f"{k}={request.POST[k]}" for k in ("width", "lang") if request.POST.get(k, "").isalnum())
    return redirect(reverse("topups:order_receipt", kwargs={"pk": order.pk}) + (query if query != "?" else ""))


@require_POST
@login_required
@permission_required("topups.send_order", raise_exception=True)
def claim_contact(request, pk: int):
    """The customer's mobile (and e-mail) for the notice, asked at the counter while the order is not final."""
    order = _order(pk)
    try:
        claims.set_contact(order, phone=request.POST.get("phone", "")[:32], email=request.POST.get("email", "")[:254],
                           actor=Actor.user(request.user))
    except ValidationError as exc:
        messages.error(request, " ".join(_(m) for m in exc.messages))
    else:
        messages.success(request, _("The customer will be told when the order settles."))
    return _back_to_receipt(request, order)


@require_POST
@login_required
@permission_required("topups.send_order", raise_exception=True)
def claim_revoke(request, pk: int):
    """Revoke the order's claim link (a lost or photographed receipt) and show the receipt with a new one."""
    order = _order(pk)
    claims.revoke(order, actor=Actor.user(request.user))
    messages.success(request, _("The old link no longer works: print the receipt again for the new one."))
    return _back_to_receipt(request, order)
