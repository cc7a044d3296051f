"""Gift cards, cached from the API (section 5): GiftProduct (the catalogue's products, by
category), GiftType (a product's denominations with our price and the stock last seen) and
GiftInstructions (how a customer redeems a product's cards, per language, printed on receipts).

An order of gift cards is an ``Order`` like any other (``service`` ``giftcards``): ``plan_code``
holds ``<productId>:<typeId>``, ``number`` the quantity of cards, ``cost`` ``price × quantity``
(what placeOrder debits) and ``card_code`` the delivered cards (values and serials, encrypted at
rest like a card code: see ``topups.lines.giftcards.cards``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class GiftProduct(models.Model):
    """One product of the catalogue (PlayStation Network, Google Play...). ``enabled`` false: the
    API does not sell it now; a product the catalogue no longer lists is kept, not enabled."""

    product_id = models.CharField(_("product id"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=120, blank=True)
    region = models.CharField(_("region"), max_length=16, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    last_seen_at = models.DateTimeField(_("last seen by a sync"), null=True, blank=True)
    types_checked_at = models.DateTimeField(_("types checked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("gift card product")
        verbose_name_plural = _("gift card products")
        ordering = ["category", "title"]

    def __str__(self) -> str:
        return self.title


class GiftType(models.Model):
    """One denomination of a product (checkProduct's ``types``): our price per card and the stock
    when it was last checked (0: out of stock)."""

    product = models.ForeignKey(GiftProduct, verbose_name=_("product"), on_delete=models.CASCADE,
                                related_name="types")
    type_id = models.CharField(_("type id"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    price = models.DecimalField(_("price per card (DZD)"), max_digits=10, decimal_places=2)
    stock = models.IntegerField(_("stock"), null=True, blank=True)
    listed = models.BooleanField(_("listed by the API"), default=True)
    checked_at = models.DateTimeField(_("checked at"), default=timezone.now)

    class Meta:
        verbose_name = _("gift card type")
        verbose_name_plural = _("gift card types")
        ordering = ["product", "price"]
        constraints = [models.UniqueConstraint(fields=["product", "type_id"], name="gift_type_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def plan_code(self) -> str:
        """What an order of this type stores in ``Order.plan_code``."""
        return f"{self.product.product_id}:{self.type_id}"

    @property
    def in_stock(self) -> bool:
        return self.listed and (self.stock is None or self.stock > 0)


class GiftInstructions(models.Model):
    """How the customer redeems a product's cards, in one language, printed on the receipt; written
    by supervisors."""

    product = models.ForeignKey(GiftProduct, verbose_name=_("product"), on_delete=models.CASCADE,
                                related_name="instructions")
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    text = models.TextField(_("instructions"), max_length=600)

    class Meta:
        verbose_name = _("gift card instructions")
        verbose_name_plural = _("gift card instructions")
        ordering = ["product", "language"]
        constraints = [models.UniqueConstraint(fields=["product", "language"], name="gift_instructions_unique")]

    def __str__(self) -> str:
        return f"{self.product} ({self.language})"
