"""The rows the dashboard keeps, a module each area (``topups.models.X`` imports them all):

- statuses: the service and line type choices, the statuses and their allowed moves;
- catalog: the API's catalog, cached: Product (internet cards) and MobilePlan (flexy plans);
- orders: Order and its OrderEvent history;
- accounts: ApiAccount (balance and key state), StaffProfile (a staff member's language), AuditEvent;
- batches: Batch (an uploaded bulk file);
- ledger: the provider's ledger: LedgerRow, LedgerFlag (a difference a supervisor resolves), LedgerCursor;
- giftcards: the gift-card catalogue, cached: GiftProduct, GiftType, GiftInstructions;
- books: PriceRule, Till (a cash session) and TillClose (a close a reopen undid), both on the
  abstract CloseRecord, HandBack (money handed back for an order), CardInstructions (a receipt's
  instructions per line type).
- claims: ClaimLink (a receipt's link to the customer's page) and Notice (a late order's message).

The order's allowed status moves are declared once, in ``TRANSITIONS``; services move orders only
through ``topups.services.lifecycle``, which checks that table and writes an ``OrderEvent`` for
every change.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from topups.crypto import decrypt_code, encrypt_code


# Migrations name these two as topups.models.X, so they are defined here.
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


from topups.models.accounts import (  # noqa: E402
    ApiAccount,
    AuditAction,
    AuditEvent,
    StaffProfile,
)
from topups.models.batches import (  # noqa: E402
    Batch,
    BatchStatus,
)
from topups.models.books import (  # noqa: E402
    CardInstructions,
    CloseRecord,
    HandBack,
    PriceMode,
    PriceRule,
    Rounding,
    Till,
    TillClose,
    TillStatus,
)
from topups.models.catalog import (  # noqa: E402
    NETWORK_OF_OPERATOR,
    MobilePlan,
    PlanKind,
    Product,
)
from topups.models.claims import (  # noqa: E402
    ClaimLink,
    Notice,
    NoticeChannel,
    NoticeStatus,
)
from topups.models.giftcards import (  # noqa: E402
    GiftInstructions,
    GiftProduct,
    GiftType,
)
from topups.models.ledger import (  # noqa: E402
    FlagKind,
    LedgerCursor,
    LedgerFlag,
    LedgerRow,
    LedgerState,
)
from topups.models.orders import (  # noqa: E402
    CardCodeDigest,
    Order,
    OrderEvent,
    OrderQuerySet,
)
from topups.models.statuses import (  # noqa: E402
    ACCEPTED_STATUSES,
    AFTER_OUTCOME,
    FAILED_STATUSES,
    FINAL_STATUSES,
    HANDED_BACK_STATUSES,
    MENU_ANSWERED,
    MENU_PLAN_PREFIX,
    REVERSED_LATER,
    TRACKED_STATUSES,
    TRANSITIONS,
    LineType,
    OrderStatus,
    S,
    failed_q,
    handed_back_q,
    is_menu_code,
    menu_answered,
    not_menu,
    part_back_cost,
    status_label,
)

__all__ = [
    "EncryptedCodeField",
    "new_ref",
    "LineType",
    "OrderStatus",
    "S",
    "TRANSITIONS",
    "HANDED_BACK_STATUSES",
    "FAILED_STATUSES",
    "MENU_PLAN_PREFIX",
    "is_menu_code",
    "MENU_ANSWERED",
    "menu_answered",
    "status_label",
    "not_menu",
    "handed_back_q",
    "failed_q",
    "part_back_cost",
    "REVERSED_LATER",
    "AFTER_OUTCOME",
    "FINAL_STATUSES",
    "TRACKED_STATUSES",
    "ACCEPTED_STATUSES",
    "Product",
    "PlanKind",
    "NETWORK_OF_OPERATOR",
    "MobilePlan",
    "OrderQuerySet",
    "CardCodeDigest",
    "Order",
    "OrderEvent",
    "ApiAccount",
    "StaffProfile",
    "AuditAction",
    "AuditEvent",
    "BatchStatus",
    "Batch",
    "LedgerState",
    "LedgerRow",
    "FlagKind",
    "LedgerFlag",
    "LedgerCursor",
    "PriceMode",
    "Rounding",
    "PriceRule",
    "TillStatus",
    "CloseRecord",
    "Till",
    "TillClose",
    "HandBack",
    "CardInstructions",
    "ClaimLink",
    "NoticeChannel",
    "NoticeStatus",
    "Notice",
    "GiftProduct",
    "GiftType",
    "GiftInstructions",
]
