"""The audit trail: one row per sensitive action (send, refresh, export, card code revealed)."""

from __future__ import annotations

from topups.models import AuditEvent
from topups.services.actors import Actor


def record(*, actor: Actor, action: str, target: str = "", detail: dict | None = None, request=None) -> AuditEvent:
    """Write one audit row. ``request`` (optional) gives the client address."""
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    return AuditEvent.objects.create(
        action=action, actor_id=actor.user_id, actor_label=actor.label[:64], target=target[:128], detail=detail,
        ip_address=ip or None,
    )


def record_many(*, actor: Actor, action: str, targets: list[str], detail: dict | None = None,
                request=None) -> None:
    """One audit row per target, in one INSERT (a list's live update reveals several codes)."""
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    AuditEvent.objects.bulk_create([
        AuditEvent(action=action, actor_id=actor.user_id, actor_label=actor.label[:64], target=target[:128],
                   detail=detail, ip_address=ip or None)
        for target in targets
    ])
