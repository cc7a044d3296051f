"""The API's catalog, cached: Product (internet cards) and MobilePlan (flexy plans)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from topups.models.statuses import LineType, is_menu_code


class Product(models.Model):
    """One card of the cached catalog: (line type, value) with our cost and stock."""

    line_type = models.CharField(_("line type"), max_length=8, choices=LineType.choices)
    value = models.DecimalField(_("value (DZD)"), max_digits=10, decimal_places=2)
    cost = models.DecimalField(_("cost (DZD)"), max_digits=10, decimal_places=2)
    available = models.BooleanField(_("available"), default=True)
    last_seen_at = models.DateTimeField(_("last seen by a sync"), null=True, blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["line_type", "value"]
        constraints = [models.UniqueConstraint(fields=["line_type", "value"], name="product_unique_value")]
        permissions = [("sync_catalog", _("Can refresh the catalog"))]

    def __str__(self) -> str:
        return f"{self.get_line_type_display()} {self.value:.0f} DA"


class PlanKind(models.TextChoices):
    DYNAMIC = "dynamic", _("Amount chosen")
    FIXED = "fixed", _("Fixed amount")


# The mobile network of each operator name the plans use: Pixx, Sama and GMobilis (wholesale) are
# Mobilis offers, topped up on Mobilis numbers.
NETWORK_OF_OPERATOR = {"GMobilis": "Mobilis", "Pixx": "Mobilis", "Sama": "Mobilis"}


class MobilePlan(models.Model):
    """One plan of the cached mobile plan list (/mobile/plans): a dynamic plan takes an amount in
    [min_amount, max_amount], a fixed plan has its ``amount``. ``multiplier`` is the API's
    ``cost`` (0.98: a 1000 DZD top-up costs 980), absent for some plans. A plan the API stops
    listing is deleted (orders keep its code)."""

    code = models.CharField(_("plan code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=128, blank=True)
    operator = models.CharField(_("operator"), max_length=32, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=PlanKind.choices)
    min_amount = models.DecimalField(_("minimum (DZD)"), max_digits=10, decimal_places=2, null=True, blank=True)
    max_amount = models.DecimalField(_("maximum (DZD)"), max_digits=10, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(_("amount (DZD)"), max_digits=10, decimal_places=2, null=True, blank=True)
    multiplier = models.DecimalField(_("cost multiplier"), max_digits=8, decimal_places=6, null=True, blank=True)
    is_enabled = models.BooleanField(_("available"), default=True)
    fetched_at = models.DateTimeField(_("fetched at"), default=timezone.now)

    class Meta:
        verbose_name = _("mobile plan")
        verbose_name_plural = _("mobile plans")
        ordering = ["-is_enabled", "operator", "kind", "amount", "code"]

    def __str__(self) -> str:
        return f"{self.name or self.code} ({self.code})"

    @property
    def network(self) -> str:
        """Mobilis, Djezzy or Ooredoo: the numbers this plan tops up."""
        return NETWORK_OF_OPERATOR.get(self.operator, self.operator)

    @property
    def is_menu(self) -> bool:
        """A GETMENU plan: sent with a number only, it answers the number's offers (suggested_offers)."""
        return is_menu_code(self.code)
