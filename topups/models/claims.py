"""What reaches a customer after they left the counter: ClaimLink (the receipt's link and QR to a
public page showing the order's state, and its card once delivered) and Notice (one message per
channel telling them a late order settled)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_claim_token() -> str:
    """An unguessable token (128 bits, URL-safe): the link's only key, short enough for a QR code
    a 58 mm receipt prints legibly."""
    return secrets.token_urlsafe(16)


class ClaimLink(models.Model):
    """One order's link for its customer. An order has at most one live link (revoked_at empty); a
    revoked link shows nothing, and the receipt printed next carries a new one.

    ``phone`` and ``email`` are where a notice goes when the order settles; the counter asks for
    them only while the order is not final, so an order final at the counter is never notified.
    ``language`` is the customer's, chosen on the receipt: the page and the notice use it."""

    order = models.ForeignKey("Order", verbose_name=_("order"), on_delete=models.CASCADE, related_name="claim_links")
    token = models.CharField(max_length=32, unique=True, default=new_claim_token, editable=False)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE)
    phone = models.CharField(_("mobile for notices"), max_length=16, blank=True)
    email = models.EmailField(_("e-mail for notices"), blank=True)
    # The address the receipt was opened at, for a notice's link when CLAIM_BASE_URL is not set.
    base_url = models.URLField(max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("revoked by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("claim link")
        verbose_name_plural = _("claim links")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=models.Q(revoked_at__isnull=True),
                                    name="claim_one_live_link"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.token[:4]}…"

    @property
    def contact(self) -> bool:
        return bool(self.phone or self.email)


class NoticeChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")


class NoticeStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Notice(models.Model):
    """One message telling the customer their late order settled, on one channel. One row per
    order and channel (the unique constraint): a settled order is told once; a resend by staff
    sends the same row again and counts it."""

    order = models.ForeignKey("Order", verbose_name=_("order"), on_delete=models.CASCADE, related_name="notices")
    channel = models.CharField(_("channel"), max_length=8, choices=NoticeChannel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    status = models.CharField(_("status"), max_length=8, choices=NoticeStatus.choices, default=NoticeStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    sends = models.PositiveSmallIntegerField(_("times sent"), default=0)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["order", "channel"], name="notice_once_per_channel")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.channel} {self.status}"
