"""Edits of an order's free fields by a person (the admin's change form).

What was ordered (type, number, value) never changes after creation, and the status and card
code belong to the state machine (``topups.services.lifecycle``). Anything else a supervisor
edits is written alone, under the row lock, and recorded with its old and new values.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_noop

from topups.models import Order
from topups.notes import Note
from topups.services import audit, lifecycle
from topups.services.actors import Actor

EDITABLE_FIELDS = ("note",)


def edit_order(*, order_id: int, changes: dict, actor: Actor, request=None) -> dict[str, list]:
    """Write ``changes`` (field -> new value, EDITABLE_FIELDS only) to one order: an UPDATE of
    those columns alone, so it can never undo a status or card code a sync wrote meanwhile; an
    order event and an audit row hold the old and new values. Returns {field: [old, new]}."""
    refused = set(changes) - set(EDITABLE_FIELDS)
    if refused:
        raise ValueError(f"not editable after creation: {sorted(refused)}")
    with transaction.atomic():
        order = Order.objects.select_for_update().only("pk", "ref", "status", *EDITABLE_FIELDS).get(pk=order_id)
        diff = {name: [getattr(order, name), value] for name, value in changes.items()
                if getattr(order, name) != value}
        if not diff:
            return {}
        old, new = diff["note"]  # the one editable field
        edit = lifecycle.Change(order.pk, None, fields={name: new for name, (_old, new) in diff.items()},
                                note=Note(gettext_noop("Note edited: “%(old)s” → “%(new)s”"), old=old, new=new),
                                payload={"edited": diff},
                                record=True)
        lifecycle.apply_changes([edit], actor, locked={order.pk: order})
        audit.record(actor=actor, action="edit_order", target=order.ref, detail={"changes": diff}, request=request)
    return diff
