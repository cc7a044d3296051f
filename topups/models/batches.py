"""Batch: an uploaded bulk file."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BatchStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Previewed")
    CONFIRMED = "confirmed", _("Confirmed")


class Batch(models.Model):
    """One uploaded CSV file of orders. The parsed rows with their problems are kept as JSON, so
    the preview the user saw is exactly what confirming creates, with no second upload."""

    file_name = models.CharField(_("file name"), max_length=255)
    status = models.CharField(_("status"), max_length=16, choices=BatchStatus.choices,
                              default=BatchStatus.PREVIEWED)
    encoding = models.CharField(_("encoding"), max_length=16, blank=True)
    rows = models.JSONField(_("rows"), default=list)
    warnings = models.JSONField(_("file warnings"), default=list, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    valid_count = models.PositiveIntegerField(_("valid rows"), default=0)
    total_cost = models.DecimalField(_("total cost (DZD)"), max_digits=14, decimal_places=2, default=0)
    balance = models.DecimalField(_("balance at preview (DZD)"), max_digits=14, decimal_places=2, null=True,
                                  blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="topup_batches",
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now, db_index=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("confirmed by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bulk file")
        verbose_name_plural = _("bulk files")
        ordering = ["-created_at", "-id"]
        permissions = [("bulk_order", _("Can upload bulk orders"))]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def invalid_count(self) -> int:
        return self.row_count - self.valid_count
