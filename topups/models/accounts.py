"""ApiAccount (balance and key state), StaffProfile (a staff member's language), AuditEvent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiAccount(models.Model):
    """What we know of the OneClickDZ account behind one API key (keyed by its fingerprint).

    Holds the cached balance and the key's state: once the API refuses a key, every process
    stops calling with it until the key changes (the API blocks the IP after 5 failures).
    """

    key_fingerprint = models.CharField(max_length=64, unique=True)
    username = models.CharField(max_length=32, blank=True)
    key_type = models.CharField(max_length=16, blank=True)  # SANDBOX | PRODUCTION
    scope = models.CharField(max_length=16, blank=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    balance = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    balance_fetched_at = models.DateTimeField(null=True, blank=True)
    catalog_synced_at = models.DateTimeField(null=True, blank=True)
    plans_synced_at = models.DateTimeField(null=True, blank=True)
    refused_reason = models.CharField(max_length=255, blank=True)
    refused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API account")
        verbose_name_plural = _("API accounts")

    def __str__(self) -> str:
        return self.username or self.key_fingerprint[:8]




class StaffProfile(models.Model):
    """Per-user preferences that follow the staff member from one browser to another."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    language = models.CharField(_("language"), max_length=8, blank=True, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return str(self.user)


class AuditAction(models.TextChoices):
    """What an audit row records (``AuditEvent.action``): stored as the code, shown in the reader's language."""

    SEND = "send", _("send orders")
    REFRESH = "refresh", _("refresh orders")
    EXPORT = "export", _("export")
    REVEAL_CODE = "reveal_code", _("card code shown")
    SEARCH_CODE = "search_code", _("search by card code")
    RECEIPT_PRINT = "receipt_print", _("receipt printed")
    RECEIPT_REPRINT = "receipt_reprint", _("receipt printed again")
    EDIT_ORDER = "edit_order", _("order edited")
    PRICE_RULE = "price_rule", _("selling price changed")
    RESOLVE_LEDGER_FLAG = "resolve_ledger_flag", _("ledger difference resolved")
    SETTLE = "settle", _("order settled with the provider's support")
    TILL_OPEN = "till_open", _("cash session opened")
    TILL_CLOSE = "till_close", _("cash session closed")
    TILL_APPROVE = "till_approve", _("cash session approved")
    TILL_REOPEN = "till_reopen", _("cash session reopened")


class AuditEvent(models.Model):
    """Who did what that a supervisor may have to answer for: sends, refreshes, exports,
    card codes revealed. Order status changes are in OrderEvent; this covers the rest."""

    action = models.CharField(_("action"), max_length=32, db_index=True, choices=AuditAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(_("by"), max_length=64)
    target = models.CharField(_("target"), max_length=128, blank=True, db_index=True)
    detail = models.JSONField(_("detail"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target}"
