"""The provider's ledger and its reconciliation (topups.services.ledger / reconcile): LedgerRow,
LedgerFlag (a difference a supervisor resolves), LedgerCursor."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from topups.models.orders import Order


class LedgerState(models.TextChoices):
    PENDING = "pending", _("Waiting to be matched")
    MATCHED = "matched", _("Matched")
    FLAGGED = "flagged", _("Flagged")
    RECORDED = "recorded", _("Recorded (not an order)")
    OTHER_SERVICE = "other_service", _("Not matched: other service")


class LedgerRow(models.Model):
    """One movement of the provider's ledger (GET /account/transactions), stored once by its id."""

    api_id = models.CharField(_("ledger id"), max_length=64, unique=True)
    type = models.CharField(_("type"), max_length=32, db_index=True)
    operation = models.CharField(_("operation"), max_length=32, blank=True)
    amount = models.DecimalField(_("amount (DZD)"), max_digits=14, decimal_places=2, null=True, blank=True)
    old_balance = models.DecimalField(_("old balance"), max_digits=14, decimal_places=2, null=True, blank=True)
    new_balance = models.DecimalField(_("new balance"), max_digits=14, decimal_places=2, null=True, blank=True)
    objid = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    time = models.DateTimeField(_("time"), db_index=True)
    # Kept only for a row we could not read (no id, amount not a number): what the API sent.
    raw = models.JSONField(_("as received"), null=True, blank=True)
    fetched_at = models.DateTimeField(_("fetched at"), default=timezone.now)
    state = models.CharField(_("match"), max_length=16, choices=LedgerState.choices, default=LedgerState.PENDING,
                             db_index=True)
    order = models.ForeignKey(Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="ledger_rows")
    chain_checked = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name = _("ledger row")
        verbose_name_plural = _("ledger rows")
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["chain_checked", "time"], name="ledger_chain_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.amount} ({self.api_id})"


class FlagKind(models.TextChoices):
    DEBIT_WITHOUT_ORDER = "debit_without_order", _("Debit with no order")
    DEBIT_MISSING = "debit_missing", _("Order accepted with no debit")
    AMOUNT_DIFFERS = "amount_differs", _("Amount differs from the order's cost")
    REFUND_NOT_LOCAL = "refund_not_local", _("Refund with no refund on our side")
    EXTRA_MOVEMENT = "extra_movement", _("Second debit or refund for one top-up")
    REFUND_DIFFERS = "refund_differs", _("Refund amount differs from the debit")
    BALANCE_BREAK = "balance_break", _("Break in the balance chain")
    UNREADABLE = "unreadable", _("Ledger row we cannot read")


class LedgerFlag(models.Model):
    """A difference between the ledger and our records. Never fixed silently: a supervisor
    resolves it with a note (audited)."""

    key = models.CharField(max_length=96, unique=True, editable=False)  # one flag per (kind, row or order)
    kind = models.CharField(_("kind"), max_length=32, choices=FlagKind.choices, db_index=True)
    day = models.DateField(_("day"), db_index=True)
    row = models.ForeignKey(LedgerRow, verbose_name=_("ledger row"), null=True, blank=True,
                            on_delete=models.PROTECT, related_name="flags")
    order = models.ForeignKey(Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="ledger_flags")
    expected = models.DecimalField(_("expected (DZD)"), max_digits=14, decimal_places=2, null=True, blank=True)
    found = models.DecimalField(_("found (DZD)"), max_digits=14, decimal_places=2, null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("flagged at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True, db_index=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("resolved by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolution = models.TextField(_("resolution note"), blank=True)

    class Meta:
        verbose_name = _("ledger flag")
        verbose_name_plural = _("ledger flags")
        ordering = ["-day", "-id"]
        permissions = [("reconcile_ledger", _("Can reconcile the ledger and resolve its flags"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.day})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class LedgerCursor(models.Model):
    """Where the ledger sync stands: the walk in progress (resumed at its page after a failure)
    and the newest row time of the last complete walk (the next one starts a little before it)."""

    name = models.CharField(max_length=32, unique=True, default="ledger")
    covered_from = models.DateTimeField(null=True, blank=True)
    last_time = models.DateTimeField(null=True, blank=True)
    walk_from = models.DateTimeField(null=True, blank=True)
    walk_to = models.DateTimeField(null=True, blank=True)
    walk_page = models.PositiveIntegerField(default=0)
    walk_newest = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("ledger cursor")
        verbose_name_plural = _("ledger cursors")

    def __str__(self) -> str:
        return self.name
