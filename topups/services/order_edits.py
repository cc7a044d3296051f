"""Edits of an order's free fields by a person (the admin's change form).

What was ordered (type, number, value) never changes after creation, and the status and card
code belong to the state machine (topups.services.orders). Anything else a supervisor edits is
written alone, under the row lock, and recorded with its old and new values.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from topups.models import Order, OrderEvent
from topups.services import audit
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
        Order.objects.filter(pk=order_id).update(**{name: new for name, (_old, new) in diff.items()},
                                                 updated_at=timezone.now())
        summary = "; ".join(f"{name}: “{old}” → “{new}”" for name, (old, new) in diff.items())
        OrderEvent.objects.create(
            order_id=order_id, from_status=order.status, to_status=order.status, actor_id=actor.user_id,
            actor_label=actor.label, note=(_("Edited: %(changes)s") % {"changes": summary})[:255],
            payload={"edited": diff},
        )
        audit.record(actor=actor, action="edit_order", target=order.ref, detail={"changes": diff}, request=request)
    return diff
