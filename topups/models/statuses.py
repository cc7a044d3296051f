"""What an order can be and how it may move: the service and line type choices, the statuses and
their allowed moves (``TRANSITIONS``), and the status groups the pages and the books count by."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from topups.oneclick import types as api_types


class LineType(models.TextChoices):
    """The API client's ``topups.oneclick.LineType`` as model choices: the same members and values
    (the client has no Django in it, so the choices with their labels live here)."""

    ADSL = api_types.LineType.ADSL.value, _("ADSL")
    LTE = api_types.LineType.LTE.value, _("4G LTE")


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


def part_back_cost():
    """The cost share of a sale partly handed back (a gift-card order partly filled: the provider
    refunds the undelivered cards' share of what it debited), as the books take it off: cost x the
    part handed back / price. Over orders; a sale's ``hand_back`` row is its part handed back."""
    when = models.When(price__gt=0, then=models.F("cost") * models.F("hand_back__amount") / models.F("price"))
    return models.Case(when, output_field=models.DecimalField())


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
# Accepted by the API (so the provider's ledger must hold their debit).
ACCEPTED_STATUSES = (S.HANDLING, S.QUEUED, S.UNCERTAIN, S.FULFILLED, S.REFUNDED, S.ATTENTION, S.TAKEN_BACK)
TRACKED_STATUSES = frozenset({S.UNKNOWN, S.HANDLING, S.QUEUED, S.UNCERTAIN, S.ATTENTION})
