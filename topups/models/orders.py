"""An order and its history (OrderEvent); the queryset that keeps the card code's digest in step."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from topups import lines
from topups.crypto import card_code_digest
from topups.models import EncryptedCodeField, new_ref
from topups.models.statuses import (
    FINAL_STATUSES,
    HANDED_BACK_STATUSES,
    LineType,
    OrderStatus,
    S,
    is_menu_code,
    status_label,
)


def line_digests(code: str) -> list[str]:
    """The keyed digests of each line of a card-code text that holds several (a gift order's cards,
    each its code then its serial), every line without separators as a search term is: what
    ``CardCodeDigest`` stores so each card is found by its own code or serial. None for one line."""
    from topups.numbers import compact

    lines_of = [compact(line) for line in (code or "").split("\n")]
    if len(lines_of) < 2:
        return []
    return sorted({card_code_digest(line) for line in lines_of if line})


class OrderQuerySet(models.QuerySet):
    """Keeps ``card_code_digest`` (and each line's ``CardCodeDigest``) in step with ``card_code``
    on every write path: ``save`` (Order.save), ``update(card_code=...)`` and
    ``bulk_update(..., ["card_code"])``."""

    def update(self, **kwargs):
        code = kwargs.get("card_code")
        if "card_code" in kwargs and "card_code_digest" not in kwargs and isinstance(code, str):
            kwargs["card_code_digest"] = card_code_digest(code)
        if not isinstance(code, str):
            return super().update(**kwargs)
        order_ids = list(self.values_list("pk", flat=True))
        updated = super().update(**kwargs)
        if updated and updated < len(order_ids):
            # A conditional update (still in this status) left some rows alone: only the rows now
            # holding this code get its digests, never one another writer changed meanwhile.
            order_ids = list(Order.objects.filter(pk__in=order_ids, card_code_digest=kwargs["card_code_digest"])
                             .values_list("pk", flat=True))
        if updated:
            _store_line_digests({order_id: code for order_id in order_ids})
        return updated

    def bulk_update(self, objs, fields, batch_size=None):
        fields = list(fields)
        if "card_code" in fields and "card_code_digest" not in fields:
            for obj in objs:
                obj.card_code_digest = card_code_digest(obj.card_code)
            fields.append("card_code_digest")
        updated = super().bulk_update(objs, fields, batch_size=batch_size)
        if "card_code" in fields:
            _store_line_digests({obj.pk: obj.card_code for obj in objs})
        return updated


def _store_line_digests(codes: dict[int, str]) -> None:
    """Each order's ``CardCodeDigest`` rows replaced by its code's (``line_digests``)."""
    if not codes:
        return
    CardCodeDigest.objects.filter(order_id__in=list(codes)).delete()
    CardCodeDigest.objects.bulk_create([CardCodeDigest(order_id=order_id, digest=digest)
                                        for order_id, code in codes.items() for digest in line_digests(code)])




class Order(models.Model):
    ref = models.CharField(_("reference"), max_length=64, unique=True, default=new_ref, editable=False)
    service = models.CharField(_("service"), max_length=8, choices=lines.choices, default=lines.default_code,
                               db_index=True)
    # Internet: ADSL or 4G. Mobile: blank (the plan says what is sold).
    line_type = models.CharField(_("line type"), max_length=8, choices=LineType.choices, blank=True)
    # Mobile: the MobilePlan's code (kept as text: a plan may vanish from the API's list).
    plan_code = models.CharField(_("plan"), max_length=64, blank=True)
    # Internet: the line (036362608 / 213665983439). Mobile: the MSSIDN (0XXXXXXXXX).
    number = models.CharField(_("line number"), max_length=16)
    value = models.DecimalField(_("value (DZD)"), max_digits=10, decimal_places=2)
    cost = models.DecimalField(_("cost (DZD)"), max_digits=10, decimal_places=2, null=True, blank=True)
    # The cost is what the API said it debited (a mobile answer's balance_amount, or the ledger row),
    # not an estimate from the plan's multiplier: a later figure that differs is a flag, not a fix.
    cost_confirmed = models.BooleanField(_("cost confirmed by the API"), default=False, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices, default=S.NEW)
    api_status = models.CharField(_("API status"), max_length=32, blank=True)
    topup_id = models.CharField(_("top-up id"), max_length=32, blank=True, db_index=True)
    ncli = models.CharField(_("customer number"), max_length=32, blank=True)
    offre = models.CharField(_("offer"), max_length=64, blank=True)
    card_code = EncryptedCodeField(_("card code"), blank=True)
    # HMAC of the code (topups.crypto.card_code_digest): an exact search without decrypting.
    card_code_digest = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    num_trans = models.CharField(_("transaction number"), max_length=64, blank=True, db_index=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    refusal_code = models.CharField(_("refusal code"), max_length=32, blank=True)
    refusal_message = models.CharField(_("refusal message"), max_length=255, blank=True)
    # Mobile: the API's message for the customer (Arabic) on REFUNDED / UNKNOWN_ERROR, and the offers
    # it suggests instead ([{typename, plan_code, amount}], a GETMENU plan's menu too).
    refund_message = models.TextField(_("message for the customer"), blank=True)
    suggested_offers = models.JSONField(_("suggested offers"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="topup_orders",
    )
    batch = models.ForeignKey("Batch", verbose_name=_("bulk file"), null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # The books' snapshot, written once at creation and never updated (topups.services.pricing):
    # what the customer was charged, and the cashier's session (till) the money went into. The
    # cost above and created_by (the seller) complete it.
    price = models.DecimalField(_("price charged (DZD)"), max_digits=10, decimal_places=2, null=True, blank=True,
                                editable=False)
    till = models.ForeignKey("Till", verbose_name=_("cash session"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="orders", editable=False)
    receipt_prints = models.PositiveIntegerField(_("receipts printed"), default=0, editable=False)
    send_requested_at = models.DateTimeField(_("send requested at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # Sync bookkeeping: how many POSTs were attempted, how many status checks, and when next.
    send_attempts = models.PositiveSmallIntegerField(default=0)
    checks = models.PositiveIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    # When the API started answering NOT_FOUND for this order (cleared once it finds it): how long
    # NOT_FOUND has lasted is one proof the close action may use (ONECLICKDZ_NOT_FOUND_CLOSE_HOURS).
    not_found_since = models.DateTimeField(null=True, blank=True, editable=False)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_check_at"], name="order_due_idx"),
            models.Index(fields=["created_by", "-created_at"], name="order_staff_idx"),
            models.Index(fields=["number"], name="order_number_idx"),
            # The books: a till's orders, and the reports' date ranges.
            models.Index(fields=["till", "status"], name="order_till_idx"),
        ]
        permissions = [
            ("send_order", _("Can send orders")),
            ("refresh_order", _("Can refresh order status")),
            ("view_card_code", _("Can see every card code")),
            ("export_order", _("Can export orders")),
        ]

    def __str__(self) -> str:
        return self.ref

    def save(self, *args, **kwargs):
        self.card_code_digest = card_code_digest(self.card_code)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "card_code" in update_fields:
            kwargs["update_fields"] = {*update_fields, "card_code_digest"}
        super().save(*args, **kwargs)
        if update_fields is None or "card_code" in update_fields:
            _store_line_digests({self.pk: self.card_code})

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def line(self):
        """The product line this order was sold through (``topups.lines``)."""
        return lines.of(self)

    @property
    def is_menu(self) -> bool:
        return is_menu_code(self.plan_code)

    @property
    def is_handed_back(self) -> bool:
        """Its price is handed back to the customer (``handed_back_q`` for one order)."""
        return self.status in HANDED_BACK_STATUSES and not self.is_menu

    @property
    def status_label(self) -> str:
        return status_label(self.status, self.plan_code)

    @property
    def sold_below_cost(self) -> bool:
        """A sale whose price turned out below what the API debited for it (the books' SOLD_BELOW_COST)."""
        return (self.price is not None and self.cost is not None and self.price < self.cost
                and self.status not in HANDED_BACK_STATUSES)


class CardCodeDigest(models.Model):
    """The keyed digest of one card's code or serial in an order whose card-code text holds
    several (``line_digests``): an exact search finds the order by any one of them. Written with
    the code, never by hand."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="code_digests")
    digest = models.CharField(max_length=64, db_index=True, editable=False)

    class Meta:
        verbose_name = _("card code digest")
        verbose_name_plural = _("card code digests")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.digest[:8]}…"


class OrderEvent(models.Model):
    """One change of an order: from, to, who or what caused it, and the API's answer."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(_("from"), max_length=16, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=16, choices=OrderStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(_("by"), max_length=64)
    note = models.CharField(_("note"), max_length=255, blank=True)
    # The note's message and parameters (topups.notes), to show it in the reader's language.
    note_code = models.CharField(max_length=255, blank=True, editable=False)
    note_params = models.JSONField(null=True, blank=True, editable=False)
    payload = models.JSONField(_("API payload"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.get_from_status_display() or '-'} → {self.get_to_status_display()}"

    @property
    def note_shown(self) -> str:
        from topups.notes import render

        return render(self.note, self.note_code, self.note_params)
