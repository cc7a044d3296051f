"""Claim links: the receipt's short URL and QR code to a public page where a customer who left
the counter follows a late order and, once it is delivered, reads their card.

A paid order that is not final gets a link on its receipt, and so does every card (a lost paper
can be recovered). The link is made the first time its receipt is shown, so the look at the
receipt and the printed paper carry the same code. Its token is the only key: unguessable, and
it stops working when staff revoke it (a new one is made for the next print) or CLAIM_LINK_DAYS
after the order became final. The card itself shows only to whoever types the last four digits
of the number that was topped up, through the one door every card code goes through
(``audit.show_codes``, the visibility rule's ``Claimant``), audited as the customer's with the
address it came from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import segno
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_noop

from topups.models import FINAL_STATUSES, ClaimLink, Order, OrderEvent
from topups.notes import Note
from topups.numbers import ascii_digits, normalise_mobile
from topups.selectors.visibility import Claimant
from topups.services import audit, lifecycle
from topups.services.actors import Actor

# The QR code's printed width: legible by a phone camera, and well inside a 58 mm roll's 48 mm.
QR_WIDTH_MM = 30
DIGITS = 4
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,32}")


def needs_link(order: Order) -> bool:
    """Whether the order's receipt carries a claim link: paid and not final yet, or a card (a
    delivered code: the page gives it back if the paper is lost), while a link would still work. A
    request for offers sells nothing."""
    if order.is_menu or not order.line.claim_link:
        return False
    if order.status not in FINAL_STATUSES:
        return True
    return bool(order.card_code) and not expired(order)


def live_link(order: Order, *, language: str | None = None, base_url: str = "") -> ClaimLink | None:
    """The order's live link, made now if it has none and its receipt should carry one; its
    language follows the receipt's (the customer's), when given. None when the receipt carries no link.

    A line whose number is the customer's phone (flexy: ``ProductLine.notice_phone``) sends its notice
    there unless the counter says otherwise (only while the order is not final: an order final at the
    counter is never notified)."""
    if not needs_link(order):
        return None
    link = ClaimLink.objects.filter(order=order, revoked_at__isnull=True).first()
    if link is None:
        phone = order.line.notice_phone(order) if order.status not in FINAL_STATUSES else ""
        try:
            with transaction.atomic():
                link = ClaimLink.objects.create(order=order, language=language or settings.LANGUAGE_CODE, phone=phone,
                                                base_url=base_url[:200])
        except IntegrityError:  # made meanwhile by another view of the same receipt
            link = ClaimLink.objects.get(order=order, revoked_at__isnull=True)
    elif language and link.language != language:
        ClaimLink.objects.filter(pk=link.pk).update(language=language)
        link.language = language
    return link


def claim_url(link: ClaimLink, request=None) -> str:
    """The link's full address: under CLAIM_BASE_URL (the shop's public address) when set, else
    the address the request came to (or, for a notice, the one its receipt was opened at)."""
    path = reverse("claim", kwargs={"token": link.token})
    if settings.CLAIM_BASE_URL:
        return settings.CLAIM_BASE_URL.rstrip("/") + path
    if request is not None:
        return request.build_absolute_uri(path)
    return link.base_url.rstrip("/") + path


def qr_svg(url: str) -> str:
    """The address as a QR code, an inline SVG sized in millimetres for the receipt's paper."""
    qr = segno.make(url, error="m")
    border = 2
    modules = qr.symbol_size(scale=1, border=border)[0]
    return qr.svg_inline(scale=QR_WIDTH_MM / modules, border=border, unit="mm", omitsize=False,
                         title=None, svgclass="claim-qr", lineclass=None)


def set_contact(order: Order, *, phone: str, email: str, actor: Actor) -> ClaimLink:
    """Where the order's notice goes (a mobile number, an e-mail address, or neither), while the
    order is not final. Raises ValidationError for a number that is not a mobile, or for an order
    already final (it has nothing left to tell)."""
    if order.status in FINAL_STATUSES:
        raise ValidationError(gettext_noop("This order is final: there is nothing left to tell the customer."))
    phone = normalise_mobile(phone) if phone.strip() else ""
    email = email.strip()
    if email:
        validate_email(email)
    link = live_link(order)
    ClaimLink.objects.filter(pk=link.pk).update(phone=phone, email=email)
    link.phone, link.email = phone, email
    record_in_history(order, actor, Note(gettext_noop("Contact for notices set: %(contact)s"),
                               contact=" / ".join(filter(None, [_masked(phone), _masked_email(email)])) or "—"))
    return link


def revoke(order: Order, *, actor: Actor) -> ClaimLink | None:
    """Revoke the order's live link (its QR code shows nothing from now on) and make the one the
    next receipt prints, keeping the customer's language and contact. Recorded in the history."""
    with transaction.atomic():
        old = ClaimLink.objects.select_for_update().filter(order=order, revoked_at__isnull=True).first()
        if old is not None:
            ClaimLink.objects.filter(pk=old.pk).update(revoked_at=timezone.now(), revoked_by_id=actor.user_id)
        link = live_link(order, language=old.language if old else settings.LANGUAGE_CODE,
                         base_url=old.base_url if old else "")
        if link is not None and old is not None:
            ClaimLink.objects.filter(pk=link.pk).update(phone=old.phone, email=old.email)
        record_in_history(order, actor, Note(gettext_noop("Claim link revoked; the next receipt carries a new one")))
    return link


@dataclass
class Claim:
    """What the public page may show for a token: the link and its order."""

    link: ClaimLink
    order: Order

    @property
    def delivered(self) -> bool:
        return self.order.status in FINAL_STATUSES and not self.order.is_handed_back


def find(token: str) -> Claim | None:
    """The claim behind a token, or None when there is none, it was revoked or it expired:
    the page tells these apart to nobody."""
    if not TOKEN_SHAPE.fullmatch(token or ""):  # never a query for what no token looks like (a NUL, say)
        return None
    link = ClaimLink.objects.select_related("order").filter(token=token, revoked_at__isnull=True).first()
    if link is None or expired(link.order):
        return None
    return Claim(link, link.order)


def expired(order: Order, now=None) -> bool:
    """A link expires CLAIM_LINK_DAYS after its order became final (never while it is not)."""
    if order.status not in FINAL_STATUSES:
        return False
    final_at = (OrderEvent.objects.filter(order=order, to_status__in=FINAL_STATUSES)
                .order_by("created_at", "id").values_list("created_at", flat=True).first()) or order.updated_at
    return (now or timezone.now()) > final_at + timedelta(days=settings.CLAIM_LINK_DAYS)


def digits_match(order: Order, typed: str) -> bool:
    """Whether ``typed`` is the last four digits of the number that was topped up."""
    typed = ascii_digits(typed or "").strip()
    expected = ascii_digits(order.number)[-DIGITS:]
    return len(typed) == DIGITS and len(expected) == DIGITS and constant_time_compare(typed, expected)


def reveal(request, claim: Claim) -> str:
    """The order's card code for the customer who typed the right digits (the caller checked
    them), through the one door: audited as the customer's, with their address."""
    return audit.show_codes(request, [(claim.order.ref, claim.order.card_code, claim.order.created_by_id)],
                            via="claim link", remember=False, viewer=Claimant())[0]


def record_in_history(order: Order, actor: Actor, note: Note) -> None:
    """A line in the order's history, through the status door (an edit that moves nothing)."""
    lifecycle.apply_changes([lifecycle.Change(order.pk, None, note=note, record=True)], actor)


def _masked(phone: str) -> str:
    return f"…{phone[-4:]}" if phone else ""


def _masked_email(email: str) -> str:
    name, _at, domain = email.strip().partition("@")
    return f"{name[:1]}…@{domain}" if domain else ""
