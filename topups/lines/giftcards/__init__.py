"""Gift cards, the third product line (API reference, section 5): PlayStation, Google Play, game
and streaming cards. The cached catalogue and each product's types with price and stock
(``catalog``), the order's cards (``cards``), how an order whose placeOrder answer was lost is found
again without a reference (``matching``: the rule; ``recovery``: the walk of the list and the
ledger), what the API's answers mean (``answers``), the counter (``forms``, ``counter``) and the
pages' fragments (``templates/lines/giftcards/``).

An order: ``plan_code`` ``<productId>:<typeId>``, ``number`` the quantity of cards, ``value`` and
``cost`` ``price × quantity`` (what placeOrder debits), ``card_code`` the delivered cards."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from topups import lines
from topups.lines.base import Item, ProductLine, SaleRefused, Templates
from topups.lines.giftcards import cards as gift_cards
from topups.models import OrderStatus
from topups.notes import Note
from topups.oneclick import OneClickClient, SendResult, TopupStatus
from topups.oneclick import errors as api_errors

S = OrderStatus
CODE = "giftcard"
PROCESSING = frozenset({S.NEW, S.SENDING, S.UNKNOWN, S.HANDLING})
# The orders that may still turn into a provider order we hold no id of.
IN_FLIGHT = (S.SENDING, S.UNKNOWN)
# The sandbox's outcome selectors (API reference 5.3): typeIds checkProduct does not list.
SANDBOX_TYPES = ("TEST_REFUND", "TEST_PARTIAL")


class GiftCardLine(ProductLine):
    code = CODE
    label = gettext_lazy("Gift cards")
    tab_label = gettext_lazy("Gift cards")
    rank = 30
    checks_line = False
    accepted_status = TopupStatus.HANDLING
    debit_types = ("ORDER",)
    refund_types = ("REFUND-ORDER",)
    claim_link = False  # no number to prove it by: the order's "number" is its quantity
    templates = Templates(counter="lines/giftcards/counter.html", outcome="lines/giftcards/outcome.html",
                          facts="lines/giftcards/facts.html", receipt_item="lines/giftcards/receipt_item.html",
                          receipt_outcome="lines/giftcards/receipt_outcome.html")

    # The API
    def send(self, client: OneClickClient, order):
        """Check the product's type (price, stock) once more, then place the order: one POST, with
        our ref only where the API accepts one (``GIFT_SEND_REF``). A failed check is certainly not
        an order: it goes back to wait (a transport error) or is refused (stock, a type gone)."""
        from topups.lines.giftcards import catalog

        product_id, type_id = catalog.split_plan(order.plan_code)
        quantity = gift_cards.quantity_of(order)
        try:
            types = catalog.check_types(product_id, client.single_try())
        except api_errors.NotFound as exc:
            raise api_errors.ValidationFailed("This product is no longer sold.", details={"productId": product_id}
                                              ) from exc
        except api_errors.OneClickError as exc:
            raise api_errors.TransportError(f"checkProduct before placeOrder: {exc}") from exc
        gift_type = next((t for t in types if t.type_id == type_id and (t.listed or type_id in SANDBOX_TYPES)), None)
        if gift_type is None or not gift_type.product.enabled:
            raise api_errors.ValidationFailed("This card is no longer sold.", details={"typeId": type_id})
        if gift_type.stock is not None and gift_type.stock < quantity:
            raise api_errors.OutOfStock("Not enough cards in stock.", details={"available": gift_type.stock})
        ref = order.ref if settings.GIFT_SEND_REF else None
        placed = client.place_gift_order(product_id, type_id, quantity, ref=ref)
        return SendResult(topup_id=placed.order_id, topup_ref=placed.order_ref)

    def check_id(self, client: OneClickClient, topup_id: str):
        return client.gift_check_order(topup_id)

    def check_ref(self, client: OneClickClient, ref: str):
        from django.utils import timezone

        from topups.lines.giftcards.recovery import find_by_ref

        if not settings.GIFT_SEND_REF:
            raise api_errors.NotFound("Gift orders have no lookup by reference.", details={"ref": ref})
        return find_by_ref(client, ref, timezone.now())

    def list_page(self, client: OneClickClient, *, page, page_size, from_, to):
        return client.list_gift_orders(page=page, page_size=page_size, from_=from_, to=to)

    def recover(self, client, order, now):
        """Found in the list and the ledger, never by a blind re-POST (``recovery``)."""
        from topups.lines.giftcards.recovery import recover

        return recover(self, client, order, now)

    def blocks_claim(self, order) -> bool:
        """One order of a product, type and quantity in flight at a time: a second one waits while
        the first is being sent or looked for, so the list never shows two unclaimed orders either
        could be. The claims of one kind are serialised (a transaction-scoped advisory lock on
        PostgreSQL; SQLite serialises every write)."""
        from topups.models import Order

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                               [f"giftcard-claim:{order.plan_code}:{order.number}"])
        return Order.objects.filter(service=self.code, plan_code=order.plan_code, number=order.number,
                                    status__in=IN_FLIGHT).exclude(pk=order.pk).exists()

    def may_send_again(self, order) -> bool:
        """Only once the last attempt is proven never placed: a proof written since its claim
        (``recovery``; the claim stores ``sent_at`` before the POST). Without a reference the API
        cannot refuse a second order, so a resend task queued by an earlier attempt's proof (two
        sync cycles each proved it; the first resend's answer was lost again) must not POST."""
        from topups.lines.giftcards.recovery import proven_never_placed

        return proven_never_placed(order)

    # The answer
    def change_from_answer(self, order, answer, now):
        from topups.lines.giftcards.answers import change_from_answer

        return change_from_answer(order, answer, now)

    def hand_back_amount(self, order, from_status, to_status):
        """A partial fill hands back the undelivered cards' share of the price; a refund all of it."""
        if (to_status == S.FULFILLED and from_status != S.FULFILLED and order.api_status == "PARTIALLY_FILLED"):
            return gift_cards.undelivered_share(order, order.price) or None
        return super().hand_back_amount(order, from_status, to_status)

    def expected_refund(self, order, debited):
        """A partial fill is refunded the undelivered cards' share of the debit, and our order shows
        it once it is fulfilled as partly filled; before our order is final the amount is not known."""
        if order.status == S.FULFILLED and order.api_status == "PARTIALLY_FILLED":
            return gift_cards.undelivered_share(order, debited if debited is not None else order.cost), True
        if order.status in PROCESSING:
            # Not final on our side yet: the refund may be a partial fill's share (any amount), and
            # the status check it schedules decides.
            return None, False
        return super().expected_refund(order, debited)

    def explanation(self, status: str, *, menu: bool):
        if status == S.FULFILLED:
            return _("Done: the cards are below.")
        return None

    def customer_message(self, order):
        if order.status == S.FULFILLED:
            return _("Done: your cards are below.")
        if order.status in PROCESSING:
            return _("Paid. Your cards are being prepared: keep this receipt and ask at the counter for them.")
        return None

    # Selling
    def catalog(self):
        from topups.lines.giftcards import catalog

        catalog.ensure_fresh()
        return catalog.enabled_products()

    def check_item(self, fields: dict, *, catalog=None, on_sale: bool = True) -> Item:
        from topups.lines.giftcards.catalog import cached_type, split_plan

        plan_code = fields.get("plan_code") or ""
        if not split_plan(plan_code)[0]:
            raise SaleRefused(gettext_noop("Choose a product and a card type."), "type_id")
        text = str(fields.get("number") or "").strip()
        if not text.isdigit() or not 1 <= int(text) <= settings.GIFT_MAX_QUANTITY:
            raise SaleRefused(Note(gettext_noop("The quantity must be a whole number from 1 to %(max)d."),
                                   max=settings.GIFT_MAX_QUANTITY), "quantity")
        quantity = int(text)
        gift_type = cached_type(plan_code)
        if on_sale:
            if gift_type is None or not gift_type.listed:
                raise SaleRefused(gettext_noop("This card type is not sold: choose another."), "type_id")
            if not gift_type.product.enabled:
                raise SaleRefused(gettext_noop("This product is disabled by the provider for now."), "product")
            if gift_type.stock is not None and gift_type.stock < quantity:
                raise SaleRefused(Note(gettext_noop("Out of stock: %(stock)d card(s) left of this type."),
                                       stock=gift_type.stock), "type_id")
        cost = gift_type.price * quantity if gift_type is not None else None
        return Item(number=str(quantity), value=cost if cost is not None else Decimal(0), cost=cost,
                    plan_code=plan_code, held=gift_type)

    def quote(self, item: Item, book):
        """The one pricing rule per card (the type's own rule, ``PriceRule.plan_code`` the type's
        ``plan_code``, else the shop's default), times the quantity."""
        from topups.prices import Quote, quote

        quantity = int(item.number)
        unit_cost = item.held.price if item.held is not None else None
        rule = book.plan_fees.get(item.plan_code) or book.default
        unit = quote(cost=unit_cost, face_value=unit_cost if unit_cost is not None else Decimal(0), rule=rule)
        return Quote(unit.price * quantity, item.cost, unit.allow_below_cost)

    def below_cost_message(self, price) -> str:
        return _("These cards' price (%(price)s DA) is below their cost: a supervisor must allow it first.") % {
            "price": price}

    # Bulk files: not sold through bulk files (``claims_row`` stays False).

    # Pages, books, filters
    def item_label(self, line_type: str, plan_code: str, value) -> str:
        from topups.lines.giftcards.catalog import cached_type

        gift_type = cached_type(plan_code)
        return f"{gift_type.product.title} — {gift_type.name}" if gift_type else f"{self.label} {plan_code}"

    def kind_label(self, line_type: str, plan_code: str) -> str:
        return self.item_label(line_type, plan_code, None)

    def groups_by_value(self) -> bool:
        return False

    def code_cell(self, code: str) -> str:
        """Every card on one line: "code (serial …); code (serial …)"."""
        return "; ".join(_("%(code)s (serial %(serial)s)") % {"code": card.value, "serial": card.serial}
                         if card.serial else card.value for card in gift_cards.from_text(code))

    def category_label(self, line_type: str, plan_code: str) -> str:
        """The product's category in the cached catalogue ("Gift cards: Gaming Cards")."""
        from topups.lines.giftcards.catalog import cached_type

        gift_type = cached_type(plan_code)
        category = gift_type.product.category if gift_type is not None else ""
        return _("%(line)s: %(category)s") % {"line": self.label, "category": category} if category else str(self.label)

    def type_label(self, line_type: str, plan_code: str) -> str:
        return str(self.label)

    def type_filters(self):
        return [(self.code, _("Gift cards"))]

    def type_filter(self, key: str):
        return {"service": self.code} if key == self.code else None

    def form_initial(self, order) -> dict:
        from topups.lines.giftcards.catalog import split_plan

        product_id, type_id = split_plan(order.plan_code)
        return {"product": product_id, "type_id": type_id, "quantity": str(gift_cards.quantity_of(order))}

    def counter(self):
        from topups.lines.giftcards.counter import GiftCounter

        return GiftCounter(self)

    def schedules(self):
        return {"Gift card catalogue refresh": ("topups.lines.giftcards.catalog.scheduled_refresh",
                                                lambda: settings.GIFT_CATALOG_REFRESH_HOURS * 60)}


LINE = lines.register(GiftCardLine())
