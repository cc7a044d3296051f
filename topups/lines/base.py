"""What a product line gives the shared code: one small interface.

The shared pipeline (``services.sales`` checks a sale, ``services.orders`` creates it, ``sending``
and ``sync`` send and follow it, ``planning`` reads the API's answer), the counter
(``views.orders.new_order``), the admin's add form, bulk files, the books, the ledger and the pages
call these members and never branch on the service. A new line subclasses ``ProductLine`` in its own
package, fills in what differs, and registers itself (``topups.lines.register``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from topups.notes import Note


class SaleRefused(ValueError):
    """A sale that cannot go ahead as asked; the message is for staff. ``note`` keeps the message and
    its parameters (a bulk file stores them and words them when read); ``field``: the form field it is
    about, or None."""

    def __init__(self, note: Note | str, field: str | None = None) -> None:
        super().__init__(note)
        self.note = note if isinstance(note, Note) else Note(note)
        self.field = field

    def __str__(self) -> str:
        from topups.notes import render_note

        return render_note(self.note)


@dataclass(frozen=True)
class Item:
    """One thing to sell as the line checked it: the order's fields (``line_type``, ``plan_code``,
    ``number``, ``value``), its cost to the shop (None: unknown until the API answers), and ``held``,
    the catalog row it was checked against, for the line's own ``quote`` (a gift card's type)."""

    number: str
    value: Decimal
    cost: Decimal | None
    line_type: str = ""
    plan_code: str = ""
    held: Any = None

    def order_fields(self) -> dict:
        return {"line_type": self.line_type, "plan_code": self.plan_code, "number": self.number,
                "value": self.value, "cost": self.cost}


@dataclass(frozen=True)
class Templates:
    """The line's fragments, each included by a shared page with ``order`` (or ``form``) in context."""

    counter: str  # the counter's form (new_order.html)
    outcome: str  # the order page's delivered part (card code, or the top-up sent)
    facts: str  # the order page's first facts (type / plan, number, value / amount)
    receipt_item: str  # the receipt's lines naming what was sold
    receipt_outcome: str  # the receipt's delivered part
    offers: str = ""  # other sales the API suggested (``ProductLine.offers``), when the line has any
    claim_delivered: str = ""  # the customer's claim page once delivered (views.claims)


class ProductLine:
    """One product line. Members are grouped by who calls them; defaults fit a line that sells a
    card with a code through a top-up endpoint (internet); a line overrides what differs."""

    # Identity ---------------------------------------------------------------------------------
    code: ClassVar[str]  # stored in Order.service (8 characters at most)
    label: Any  # "Internet card", "Mobile top-up": the service's name
    tab_label: Any  # the counter's tab
    rank: ClassVar[int] = 100  # the counter's tabs, smaller first

    # The API ------------------------------------------------------------------------------------
    # Whether the API's number check (and the cached stock) is asked before a first send.
    checks_line: ClassVar[bool] = False
    # The API's status of an order it has just accepted (oneclick.TopupStatus).
    accepted_status: Any = None
    # The ledger's types of this line's debits and refunds (API reference 2.3).
    debit_types: ClassVar[tuple[str, ...]] = ()
    refund_types: ClassVar[tuple[str, ...]] = ()

    def send(self, client, order):
        """POST the order (its stored ref included); raises the client's typed errors."""
        raise NotImplementedError

    def check_id(self, client, topup_id: str):
        raise NotImplementedError

    def check_ref(self, client, ref: str):
        raise NotImplementedError

    def list_page(self, client, *, page: int, page_size: int, from_, to):
        raise NotImplementedError

    def recover(self, client, order, now):
        """Look for an order we hold no id of, after a POST without a clear answer (``sync``): the
        API's answer about it (read by ``change_from_answer``), or None to ask again later; raises
        the client's ``NotFound`` when the API proves it does not hold the order (a resend may then
        follow, ``planning.may_resend``). Default: the lookup by our reference (check-ref)."""
        return self.check_ref(client, order.ref)

    def blocks_claim(self, order) -> bool:
        """Whether ``order`` must wait before it is sent, asked inside the claim's transaction
        (``sending.claim``) with the order's row locked. Default: never (a line whose orders carry
        our reference needs no more: the reference tells its orders apart)."""
        return False

    def may_send_again(self, order) -> bool:
        """Whether a resend (``planning.may_resend`` said yes) may POST now, asked inside the claim
        with the row locked. Default: yes, the same reference goes again and the API refuses a
        second order under it (DUPLICATED_REF), so a resend task that comes late is harmless. A
        line whose orders carry no reference must say its last attempt is proven never placed."""
        return True

    # The answer ------------------------------------------------------------------------------------
    # A card code is delivered (FULFILLED without one is not complete; the code is masked, audited).
    delivers_code: ClassVar[bool] = True
    # The order's cost is what the API debited (the answer's or the ledger's figure), not the catalog's.
    cost_set_by_debit: ClassVar[bool] = False

    def change_from_answer(self, order, answer, now):
        """The planned change (``lifecycle.Change``) an API answer about ``order`` makes (check-id,
        a list item, ``recover``'s answer). Default: a top-up's (``planning.change_from_topup``)."""
        from topups.services.planning import change_from_topup

        return change_from_topup(order, answer, now)

    def hand_back_amount(self, order, from_status: str | None, to_status: str | None) -> Decimal | None:
        """The money handed back to the customer by this move (booked in a cash session by the
        status door), or None. Default: the whole price, on a move into ``HANDED_BACK_STATUSES``."""
        from topups.models import HANDED_BACK_STATUSES

        if to_status in HANDED_BACK_STATUSES and from_status not in HANDED_BACK_STATUSES:
            return order.price
        return None

    def expected_refund(self, order, debited: Decimal | None) -> tuple[Decimal | None, bool]:
        """What a ledger refund of this order should amount to (``debited``: its debit row's amount,
        when read) and whether our order already shows that refund (the reconciliation matches it;
        otherwise it asks the API, or flags it). Default: all of the debit, on a refunded order."""
        from topups.models import OrderStatus

        return (debited if debited is not None else order.cost), order.status == OrderStatus.REFUNDED

    def answer_fields(self, order, topup, now) -> tuple[dict, Note | None] | None:
        """The line's own fields and note from an API answer, or None for the card's (code,
        transaction number, delivery time)."""
        return None

    def explanation(self, status: str, *, menu: bool) -> str | None:
        """What a status means for staff when it differs from the card's sentence, else None."""
        return None

    def customer_message(self, order) -> str | None:
        """The receipt's sentence for the customer when it differs from the card's, else None."""
        return None

    # Selling: the one "may this sale go ahead?" door (services.sales) ------------------------------
    def catalog(self):
        """What the counter and bulk files choose from, fetched first when missing or stale."""
        return []

    def check_item(self, fields: dict, *, catalog=None, on_sale: bool = True) -> Item:
        """Check what is asked (``fields``: ``line_type``, ``plan_code``, ``number``, ``value`` as
        typed) against the cached catalog; raise SaleRefused (or ValidationError for a number).
        ``on_sale`` False: an item the catalog does not sell now is still created (its cost
        unknown) and refused when it is sent (``sending``'s stock check), as for a service call."""
        raise NotImplementedError

    def quote(self, item: Item, book):
        """The selling price of a checked item (``pricing.PriceBook``)."""
        raise NotImplementedError

    def below_cost_message(self, price) -> str:
        raise NotImplementedError

    # Bulk files ----------------------------------------------------------------------------------
    def claims_row(self, cells: dict) -> bool:
        """Whether a bulk file's row (its cells: type, number, value, plan_code, ref, note) is this line's."""
        return False

    def required_cells(self) -> tuple[str, ...]:
        return ("type", "number", "value")

    def check_row(self, row: dict, formula: set, catalog) -> None:
        """Fill a bulk row's normalised values (``line_type``, ``plan_code``, ``number``, ``value``,
        ``cost``) or append its problems (codes of ``batch_messages``) to ``row["errors"]``."""
        raise NotImplementedError

    # Pages, books, filters --------------------------------------------------------------------------
    templates: Templates

    def item_label(self, line_type: str, plan_code: str, value) -> str:
        """What was sold, in a report's row ("ADSL 1000", "Flexy PREPAID")."""
        raise NotImplementedError

    def kind_label(self, line_type: str, plan_code: str) -> str:
        """What kind of sale, in a table's cell ("ADSL", "Flexy PREPAID")."""
        raise NotImplementedError

    def type_label(self, line_type: str, plan_code: str) -> str:
        """The report's "by line type" row of this line's sales ("ADSL", "Mobile top-up")."""
        raise NotImplementedError

    def code_cell(self, code: str) -> str:
        """An order's card code as shown (or masked), in one cell of an exported file: one line."""
        return code

    def category_label(self, line_type: str, plan_code: str) -> str:
        """The report's "by category" row a sale of this line falls in: by default its "by line
        type" row (an ADSL card, a flexy top-up)."""
        return self.type_label(line_type, plan_code) or str(self.label)

    def groups_by_value(self) -> bool:
        """Whether the report's products are told apart by their value (cards) or not (a plan)."""
        return True

    def type_filters(self) -> list[tuple[str, str]]:
        """The orders list's type filter: (key, label) of this line's choices."""
        return []

    def type_filter(self, key: str) -> dict | None:
        """The orders' lookups of a type filter's key, or None when the key is not this line's."""
        return None

    def form_initial(self, order) -> dict:
        """The counter's form filled with this order again (a refused order's retry)."""
        return {"number": order.number}

    # The counter -----------------------------------------------------------------------------------
    # The receipt carries a claim link (views.claims): the customer proves the order is theirs with
    # the last digits of the number the order was for, so a line without such a number has none.
    claim_link: ClassVar[bool] = True

    def notice_phone(self, order) -> str:
        """The customer's phone the order itself names, where a late order's notice goes ("": none)."""
        return ""

    def offers(self, order, user) -> list[dict]:
        """Other sales the API suggested instead of this order, ready to send with one click."""
        return []

    def counter(self):
        """The line's counter for the shared order-entry flow (``views.orders.new_order``): an object
        with ``initial_keys``, ``form(data, initial=, catalog=, user=)``, ``before_submit(request,
        catalog)`` (a response, or None to go on), ``checking(request)`` (a POST that only checks),
        ``sale_fields(cleaned_data)`` and ``context(form)``."""
        raise NotImplementedError

    def schedules(self) -> dict:
        """The line's background schedules (its catalog's refresh): {name: (task path, minutes)},
        minutes an int, a setting's name or a callable (``topups.schedules``)."""
        return {}

    def urls(self) -> list:
        """The line's own URL patterns (its JSON checks), under the dashboard's namespace."""
        return []
