"""The books: PriceRule, Till (a cash session) and TillClose (a close a reopen undid), both on the
abstract CloseRecord, HandBack (money handed back for an order), CardInstructions (a receipt's
instructions per line type)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from topups.models.orders import Order
from topups.models.statuses import LineType, OrderStatus


class PriceMode(models.TextChoices):
    FIXED = "fixed", _("Fixed price")
    MARGIN = "margin", _("Margin over cost (DZD)")
    MARKUP = "markup", _("Markup over cost (%)")


class Rounding(models.IntegerChoices):
    NONE = 0, _("No rounding")
    FIVE = 5, _("Up to 5 DA")
    TEN = 10, _("Up to 10 DA")


class PriceRule(models.Model):
    """How a product's selling price is set: one row per (line type, value), and one shop-wide
    default (line type blank, value 0) for cards without their own. A flexy fee is a row with a
    ``plan_code`` or an ``operator`` (line type blank): a margin or markup on the credit's face value.
    Decided by ``topups.services.pricing``."""

    line_type = models.CharField(_("line type"), max_length=8, choices=LineType.choices, blank=True)
    value = models.DecimalField(_("value (DZD)"), max_digits=10, decimal_places=2, default=0)
    plan_code = models.CharField(_("mobile plan"), max_length=64, blank=True, default="")
    operator = models.CharField(_("operator"), max_length=32, blank=True, default="")
    mode = models.CharField(_("mode"), max_length=8, choices=PriceMode.choices, default=PriceMode.MARKUP)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2, default=0)
    rounding = models.PositiveSmallIntegerField(_("rounding"), choices=Rounding.choices, default=Rounding.NONE)
    allow_below_cost = models.BooleanField(_("may be sold below cost"), default=False)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("updated by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("price rule")
        verbose_name_plural = _("price rules")
        ordering = ["line_type", "value"]
        constraints = [models.UniqueConstraint(fields=["line_type", "value", "plan_code", "operator"],
                                               name="price_rule_unique_target")]
        permissions = [("set_price", _("Can set selling prices")), ("view_books", _("Can see the shop's books"))]

    def __str__(self) -> str:
        if self.plan_code:
            return str(_("Flexy %(plan)s") % {"plan": self.plan_code})
        if self.operator:
            return str(_("Flexy %(operator)s") % {"operator": self.operator})
        if not self.line_type:
            return str(_("Shop default"))
        return f"{self.get_line_type_display()} {self.value:.0f} DA"

    @property
    def is_default(self) -> bool:
        return not (self.line_type or self.plan_code or self.operator)



class TillStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    APPROVED = "approved", _("Approved")


class CloseRecord(models.Model):
    """What a close of a cash session recorded: the figures, who closed it and when (with the
    cashier's explanation of a difference), and its approval (with the supervisor's note). Kept on
    the session for its current close and on ``TillClose`` for each close a reopen undid."""

    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    sales = models.DecimalField(_("sales (DZD)"), max_digits=12, decimal_places=2, null=True, blank=True)
    handed_back = models.DecimalField(_("handed back (DZD)"), max_digits=12, decimal_places=2, null=True,
                                      blank=True)
    expected_cash = models.DecimalField(_("expected cash (DZD)"), max_digits=12, decimal_places=2, null=True,
                                        blank=True)
    counted_cash = models.DecimalField(_("counted cash (DZD)"), max_digits=12, decimal_places=2, null=True,
                                       blank=True)
    close_note = models.TextField(_("explanation of the difference"), max_length=500, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved by"), null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approval_note = models.TextField(_("approval note"), max_length=500, blank=True)

    RECORD_FIELDS = ("closed_at", "closed_by_id", "sales", "handed_back", "expected_cash", "counted_cash",
                     "close_note", "approved_by_id", "approved_at", "approval_note")

    class Meta:
        abstract = True

    @property
    def difference(self):
        if self.counted_cash is None or self.expected_cash is None:
            return None
        return self.counted_cash - self.expected_cash


class Till(CloseRecord):
    """A cashier's cash session: opened with the cash in the drawer, the orders sold meanwhile are
    attached to it, closed by counting the cash (``topups.services.tills``), approved by a
    supervisor. The figures are stored when it is closed."""

    cashier = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("cashier"), on_delete=models.PROTECT,
                                related_name="tills")
    status = models.CharField(_("status"), max_length=8, choices=TillStatus.choices, default=TillStatus.OPEN)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now, db_index=True)
    opening_cash = models.DecimalField(_("opening cash (DZD)"), max_digits=12, decimal_places=2)
    carried_over = models.JSONField(_("orders carried over"), default=list, blank=True)
    # Stored at the close with the other figures, per service: [{service, orders, sales, handed_back,
    # handed_back_count}]; a closed session's pages and prints show these, never a live count.
    by_service = models.JSONField(_("figures per service"), default=list, blank=True)

    class Meta:
        verbose_name = _("cash session")
        verbose_name_plural = _("cash sessions")
        ordering = ["-opened_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["cashier"], condition=models.Q(status="open"),
                                               name="till_one_open_per_cashier")]
        permissions = [("approve_till", _("Can approve or reopen cash sessions"))]

    def __str__(self) -> str:
        return f"{self.cashier} {timezone.localtime(self.opened_at):%Y-%m-%d %H:%M}"


class TillClose(CloseRecord):
    """An earlier close of a cash session that was reopened, and who reopened it. A reopen keeps
    the close here rather than erasing it, so a recount never hides the first count
    (``tills.reopen_till``)."""

    till = models.ForeignKey(Till, verbose_name=_("cash session"), on_delete=models.CASCADE,
                             related_name="earlier_closes")
    reopened_at = models.DateTimeField(_("reopened at"))
    reopened_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reopened by"), null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("earlier close")
        verbose_name_plural = _("earlier closes")
        ordering = ["closed_at", "id"]

    def __str__(self) -> str:
        return f"{self.till} {timezone.localtime(self.closed_at):%Y-%m-%d %H:%M}"


class HandBack(models.Model):
    """Money handed back for one order (refunded, refused, cancelled, card taken back), booked in the
    cash session open when it was handed back: the order's own session while it is open, else the
    session open at that moment (``topups.services.tills.book_hand_backs``). ``till`` empty: no
    session was open; it is booked in its cashier's next one. One per order: the money goes back once.
    """

    order = models.OneToOneField(Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="hand_back")
    origin_till = models.ForeignKey(Till, verbose_name=_("session of the sale"), on_delete=models.PROTECT,
                                    related_name="+")
    till = models.ForeignKey(Till, verbose_name=_("cash session"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="hand_backs")
    amount = models.DecimalField(_("amount (DZD)"), max_digits=10, decimal_places=2)
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices)
    actor_label = models.CharField(_("by"), max_length=64)
    created_at = models.DateTimeField(_("handed back at"), default=timezone.now, db_index=True)
    booked_at = models.DateTimeField(_("booked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("money handed back")
        verbose_name_plural = _("money handed back")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["till"], name="hand_back_till_idx")]

    def __str__(self) -> str:
        return f"{self.amount} ({self.order_id})"


class CardInstructions(models.Model):
    """How the customer uses a card of one line type, printed on its receipt in the receipt's
    language; written by supervisors."""

    line_type = models.CharField(_("line type"), max_length=8, choices=LineType.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    text = models.TextField(_("instructions"), max_length=600)

    class Meta:
        # One row is the instructions of one line type in one language ("one": French needs the singular).
        verbose_name = pgettext_lazy("one", "card instructions")
        verbose_name_plural = _("card instructions")
        ordering = ["line_type", "language"]
        constraints = [models.UniqueConstraint(fields=["line_type", "language"], name="card_instructions_unique")]

    def __str__(self) -> str:
        return f"{self.get_line_type_display()} ({self.language})"
