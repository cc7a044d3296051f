"""History notes stored as a message and its parameters, shown in the reader's language.

A note written by a background task (English) or during a French clerk's request would otherwise
stay in that language for everyone. Services write ``Note(gettext_noop("…%(n)s…"), n=3)``; the
history row keeps the message id and the parameters (``OrderEvent.note_code`` / ``note_params``)
with the English text in ``note`` for the admin and exports, and pages render ``event.note_shown``
through gettext in the reader's language.

The other codes staff read are worded here too, when read: who caused a change (``actor_shown``),
why the API refused an order (``refusal_reason``, our sentence per API error code), and the
provider's ledger types and operations.
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop


class Note(str):
    """The English note (a ``str``, so any caller reading it as text still works), carrying its
    message id and parameters (strings and numbers: stored as JSON)."""

    msgid: str
    params: dict

    def __new__(cls, msgid: str, **params) -> Note:
        text = msgid % params if params else msgid
        note = super().__new__(cls, text)
        note.msgid, note.params = msgid, params
        return note


def stored(note) -> dict:
    """The OrderEvent fields of ``note``: the English text, and for a ``Note`` its code and parameters."""
    text = str(note or "")[:255]
    if isinstance(note, Note):
        return {"note": text, "note_code": note.msgid[:255], "note_params": note.params or None}
    return {"note": text}


def render_note(note) -> str:
    """A ``Note`` (or any text) in the active language."""
    if isinstance(note, Note):
        return render(str(note), note.msgid, note.params)
    return render(str(note or ""), "", None)


def render(text: str, code: str, params: dict | None) -> str:
    """The note in the active language; the stored text when the message has no translation or its
    parameters do not fit it (a message changed since the row was written). A note stored without
    its code (rows written before the codes, or a plain English message) is looked up as it reads:
    the English text of a message without parameters is its own message id."""
    if not code:
        return gettext(text) if text else text
    try:
        translated = gettext(code)
        return translated % params if params else translated
    except (KeyError, TypeError, ValueError):
        return text


# A note naming what the shop paid for an order: read by those who see costs only (cashiers see
# the prices they charge, ``roles.sees_costs``).
COST_SET = gettext_noop("Cost set to what the API debited (ledger): %(cost)s DA instead of %(estimate)s DA.")
TAKEN_BACK_NOTE = gettext_noop("The provider took the delivered card back (ledger refund of %(amount)s DA): %(note)s")
COST_NOTES = frozenset({COST_SET, TAKEN_BACK_NOTE})


# Who caused a change (``Actor.label``): a username, "task:<name>", or "<username> via task:<name>"
# (several "via" when a task started another). The task names are ours; the words are the reader's.
TASKS = {
    "sync": gettext_noop("status check"),
    "send": gettext_noop("background send"),
    "resend": gettext_noop("sending again"),
    "sweeper": gettext_noop("stuck-order sweep"),
    "batch": gettext_noop("bulk file"),
}


def actor_shown(label: str) -> str:
    """``Actor.label`` in the reader's language: "olga (background send)", "automatic (status check)"."""
    person, *tasks = (label or "").split(" via task:")
    if person.startswith("task:"):
        tasks, person = [person.removeprefix("task:"), *tasks], ""
    if not tasks:
        return person
    doing = ", ".join(gettext(TASKS[name]) if name in TASKS else name for name in tasks)
    if not person:
        return gettext("automatic (%(task)s)") % {"task": doing}
    return gettext("%(person)s (%(task)s)") % {"person": person, "task": doing}


# Why the API refused an order, in our words, per error code (the API's own message, in whatever
# language it writes, is shown beside it as a detail for the staff, never on a customer's receipt).
REFUSALS = {
    "ERR_PHONE": gettext_noop("The number is not accepted for this service (wrong number or line type)."),
    "INVALID_PHONE": gettext_noop("The number is not accepted for this service (wrong number or line type)."),
    "ERR_VALIDATION": gettext_noop("The order was not accepted as sent (a value the API does not take)."),
    "INVALID_REQUEST": gettext_noop("The order was not accepted as sent (a value the API does not take)."),
    "ERR_STOCK": gettext_noop("This value is out of stock."),
    "INSUFFICIENT_BALANCE": gettext_noop("The account's balance does not cover this top-up."),
    "NO_BALANCE": gettext_noop("The account's balance does not cover this top-up."),
    "FORBIDDEN": gettext_noop("The API key may not send orders (read-only key)."),
}


def refusal_reason(code: str) -> str:
    """Our sentence for an API refusal code, in the active language."""
    if code in REFUSALS:
        return gettext(REFUSALS[code])
    if code:
        return gettext("The API refused the order (%(code)s).") % {"code": code}
    return gettext("no reason given")


def refusal_note(code: str) -> Note:
    """The history note of a refusal: our sentence for ``code`` (the API's message stays in the
    event's payload and the order's ``refusal_message``)."""
    if code in REFUSALS:
        return Note(REFUSALS[code])
    return Note(gettext_noop("The API refused the order (%(code)s)."), code=code)


# The provider's ledger: its type and operation codes, said in the reader's words (the code stays
# stored and exported as the API wrote it).
LEDGER_TYPES = {
    "DEPOSIT": gettext_noop("deposit"),
    "REFUND-FLEXY": gettext_noop("mobile top-up refund"),
    "REFUND-ADSL": gettext_noop("internet top-up refund"),
    "REFUND-ORDER": gettext_noop("order refund"),
    "RECEIVE": gettext_noop("transfer received"),
    "POINT-EXCHANGE": gettext_noop("points exchanged"),
    "FLEXY": gettext_noop("mobile top-up"),
    "ADSL": gettext_noop("internet top-up"),
    "ORDER": gettext_noop("order"),
    "WITHDRAW": gettext_noop("withdrawal"),
    "SEND": gettext_noop("transfer sent"),
    "SERVICE": gettext_noop("service fee"),
}
LEDGER_OPERATIONS = {"increment": gettext_noop("money in"), "decrement": gettext_noop("money out")}


def ledger_type_shown(code: str) -> str:
    return gettext(LEDGER_TYPES[code]) if code in LEDGER_TYPES else code


def ledger_operation_shown(code: str) -> str:
    return gettext(LEDGER_OPERATIONS[code]) if code in LEDGER_OPERATIONS else code
