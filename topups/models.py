"""The rows the dashboard keeps:

- the API's catalog, cached: Product (internet cards) and MobilePlan (flexy plans);
- Order and its OrderEvent history;
- ApiAccount (balance and key state), StaffProfile (a staff member's language), AuditEvent;
- Batch (an uploaded bulk file);
- the provider's ledger: LedgerRow, LedgerFlag (a difference a supervisor resolves), LedgerCursor;
- the books: PriceRule, Till (a cash session) and TillClose (a close a reopen undid), both on the
  abstract CloseRecord, HandBack (money handed back for an order), CardInstructions (a receipt's
  instructions per line type).

The order's allowed status moves are declared once, in ``TRANSITIONS``; services move orders only
through ``topups.services.lifecycle``, which checks that table and writes an ``OrderEvent`` for
every change.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from topups.crypto import card_code_digest, decrypt_code, encrypt_code
from topups.oneclick import types as api_types


class LineType(models.TextChoices):
    """The API client's ``topups.oneclick.LineType`` as model choices: the same members and values
    (the client has no Django in it, so the choices with their labels live here)."""

    ADSL = api_types.LineType.ADSL.value, _("ADSL")
    LTE = api_types.LineType.LTE.value, _("4G LTE")


class Service(models.TextChoices):
    """What an order sells: an internet card (ADSL / 4G) or mobile credit ("flexy")."""

    INTERNET = "internet", _("Internet card")
    MOBILE = "mobile", _("Mobile top-up")


class OrderStatus(models.TextChoices):
    # Ours, before the API knows the order.
    NEW = "new", _("New")
    SENDING = "sending", _("Sending")
    # Sent, but the answer was lost: being reconciled by its reference. Never re-sent blindly.
    UNKNOWN = "unknown", _("Checking")
    # The API's own states.
    HANDLING = "handling", _("Processing")
    QUEUED = "queued", _("Queued")
    # Mobile only: the API said UNKNOWN_ERROR (the operator's answer was lost). Accepted and paid,
    # not final and not refunded: support settles it within 1-24 h, re-checked meanwhile.
    UNCERTAIN = "uncertain", _("Outcome uncertain")
    FULFILLED = "fulfilled", _("Fulfilled")
    REFUNDED = "refunded", _("Refunded")
    # The API turned the order down (ERR_PHONE, ERR_STOCK, INSUFFICIENT_BALANCE, ...): nothing debited.
    REFUSED = "refused", _("Refused")
    CANCELLED = "cancelled", _("Cancelled")
    # A delivered card the provider took back afterwards (a REFUND-ADSL in its ledger for an order
    # we had fulfilled): a supervisor settles it from the reconciliation flag. No longer a sale.
    TAKEN_BACK = "taken_back", _("Card taken back")
    # Reconciliation could not settle the order on its own: a person must look.
    ATTENTION = "attention", _("Needs attention")


S = OrderStatus

# The order state machine: from -> the states it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.SENDING, S.REFUSED, S.CANCELLED}),
    S.SENDING: frozenset({S.NEW, S.HANDLING, S.QUEUED, S.UNCERTAIN, S.FULFILLED, S.REFUNDED, S.REFUSED, S.UNKNOWN,
                          S.ATTENTION}),
    S.UNKNOWN: frozenset({S.SENDING, S.HANDLING, S.QUEUED, S.UNCERTAIN, S.FULFILLED, S.REFUNDED, S.ATTENTION}),
    S.HANDLING: frozenset({S.QUEUED, S.UNCERTAIN, S.FULFILLED, S.REFUNDED, S.ATTENTION}),
    S.QUEUED: frozenset({S.HANDLING, S.UNCERTAIN, S.FULFILLED, S.REFUNDED, S.ATTENTION}),
    # UNCERTAIN resolves either way; after 48 h without an answer a person looks (ATTENTION).
    S.UNCERTAIN: frozenset({S.HANDLING, S.QUEUED, S.FULFILLED, S.REFUNDED, S.ATTENTION}),
    # ATTENTION -> CANCELLED: a supervisor closes an order proven never to have reached the API.
    S.ATTENTION: frozenset({S.HANDLING, S.QUEUED, S.UNCERTAIN, S.FULFILLED, S.REFUNDED, S.SENDING, S.CANCELLED}),
    # FULFILLED -> TAKEN_BACK: a supervisor resolves the ledger's refund of a delivered card; no API
    # answer moves a fulfilled order (the sync no longer follows it).
    S.FULFILLED: frozenset({S.TAKEN_BACK}),
    S.TAKEN_BACK: frozenset(),
    S.REFUNDED: frozenset(),
    S.REFUSED: frozenset(),
    S.CANCELLED: frozenset(),
}

# The books' one rule for money handed back: the shop takes the customer's money when the order is
# entered, so an order that ends without a card (refunded by the API, refused, or cancelled before
# sending, or a card the provider took back) means giving its price back. Every other order's price
# is a sale.
HANDED_BACK_STATUSES = frozenset({S.REFUNDED, S.REFUSED, S.CANCELLED, S.TAKEN_BACK})
# The API's answer to an order that failed (money back to the shop, or nothing debited).
FAILED_STATUSES = frozenset({S.REFUNDED, S.REFUSED})
MENU_PLAN_PREFIX = "GETMENU"


def is_menu_code(plan_code: str) -> bool:
    """A GETMENU plan's code: the order asks the number's offers (the API answers them as a refund
    of 0 DZD). It sells nothing, so it is neither a sale, nor money handed back, nor a failure."""
    return (plan_code or "").upper().startswith(MENU_PLAN_PREFIX)


# The statuses in which the API has answered a menu request with the number's offers.
MENU_ANSWERED = frozenset({S.REFUNDED, S.FULFILLED})


def menu_answered(status: str, plan_code: str) -> bool:
    """A menu request (GETMENU) the API answered: its offers received, no failure and no sale."""
    return is_menu_code(plan_code) and status in MENU_ANSWERED


def status_label(status: str, plan_code: str = "") -> str:
    """The status as staff read it: a menu request the API answered reads "Offers received", not
    "Refunded" (the API's way of answering it)."""
    if menu_answered(status, plan_code):
        return str(_("Offers received"))
    return str(OrderStatus(status).label)


def not_menu() -> models.Q:
    return ~models.Q(plan_code__istartswith=MENU_PLAN_PREFIX)


def handed_back_q() -> models.Q:
    """The orders whose price the shop hands back (the books' one rule), menu requests aside."""
    return models.Q(status__in=HANDED_BACK_STATUSES) & not_menu()


def failed_q() -> models.Q:
    """The orders that failed, for the failure rates (menu requests aside)."""
    return models.Q(status__in=FAILED_STATUSES) & not_menu()

# Handed back after the sale stood (a card the provider took back): the books keep the sale on the
# day it was sold and take it out on the day it was taken back (``selectors.books.report``).
REVERSED_LATER = frozenset({S.TAKEN_BACK})

# Moves a person makes after the outcome is settled: they do not make the outcome any less final.
AFTER_OUTCOME = frozenset({S.TAKEN_BACK})
FINAL_STATUSES = frozenset(s for s, targets in TRANSITIONS.items() if not targets - AFTER_OUTCOME)
# Sent (or maybe sent) and not final: what the status sync follows.
TRACKED_STATUSES = frozenset({S.UNKNOWN, S.HANDLING, S.QUEUED, S.UNCERTAIN, S.ATTENTION})


def new_ref() -> str:
    """A unique, URL-safe order reference, generated and stored before anything is sent."""
    return f"OC-{timezone.localdate():%y%m%d}-{secrets.token_hex(5).upper()}"


class EncryptedCodeField(models.TextField):
    """A card code, encrypted in the database and clear in Python: ``order.card_code`` reads and
    writes the code as before; the column holds a Fernet token (see topups.crypto). Lookups other
    than "is empty" cannot work on a token (it changes at every write): search by
    ``card_code_digest`` instead."""

    def from_db_value(self, value, expression, connection):
        return decrypt_code(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt_code(value) if value else value


class OrderQuerySet(models.QuerySet):
    """Keeps ``card_code_digest`` in step with ``card_code`` on every write path: ``save``
    (Order.save), ``update(card_code=...)`` and ``bulk_update(..., ["card_code"])``."""

    def update(self, **kwargs):
        if "card_code" in kwargs and "card_code_digest" not in kwargs:
            code = kwargs["card_code"]
            if isinstance(code, str):
                kwargs["card_code_digest"] = card_code_digest(code)
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        fields = list(fields)
        if "card_code" in fields and "card_code_digest" not in fields:
            for obj in objs:
                obj.card_code_digest = card_code_digest(obj.card_code)
            fields.append("card_code_digest")
        return super().bulk_update(objs, fields, batch_size=batch_size)


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


class Order(models.Model):
    ref = models.CharField(_("reference"), max_length=64, unique=True, default=new_ref, editable=False)
    service = models.CharField(_("service"), max_length=8, choices=Service.choices, default=Service.INTERNET,
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

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_mobile(self) -> bool:
        return self.service == Service.MOBILE

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


# The provider's ledger and its reconciliation (topups.services.ledger / reconcile) -----------------


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
# The books ----------------------------------------------------------------------------------------


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

    @property
    def is_mobile(self) -> bool:
        return bool(self.plan_code or self.operator)


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
