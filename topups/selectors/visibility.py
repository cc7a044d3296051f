"""Who sees a card code: the one rule every page, export and receipt applies before it shows a code."""

from __future__ import annotations

from topups.models import Order
from topups.oneclick import mask_code


class Claimant:
    """The customer holding an order's claim link who typed the last four digits of the number that
    was topped up (``topups.services.claims``): they see that order's card, nothing else. Only
    the claims service makes one, after the check; it holds no account and no permission."""

    pk = None
    is_claimant = True

    def has_perm(self, perm: str) -> bool:
        return False

    def get_username(self) -> str:
        return "customer (claim link)"


def _may_see_code(user, created_by_id: int | None) -> bool:
    own = created_by_id is not None and created_by_id == user.pk
    return own or getattr(user, "is_claimant", False) or user.has_perm("topups.view_card_code")


def can_refresh(user, order: Order) -> bool:
    return user.has_perm("topups.refresh_order") or (
        order.created_by_id is not None and order.created_by_id == user.pk
    )


def code_as_shown(user, card_code: str, created_by_id: int | None) -> str:
    """The visibility rule: the card code as this user may see it, in full (supervisors, the
    order's creator, or its customer through the claim link) or masked to its last 4 characters. Screens and files get codes through
    ``topups.services.audit.show_codes``, which applies this rule and audits what it reveals."""
    return card_code if _may_see_code(user, created_by_id) else mask_code(card_code)
