"""The audit trail: one row per sensitive action (send, refresh, export, card code revealed)."""

from __future__ import annotations

from topups.http import client_ip
from topups.models import AuditEvent
from topups.services.actors import Actor


def record(*, actor: Actor, action: str, target: str = "", detail: dict | None = None, request=None) -> AuditEvent:
    """Write one audit row. ``request`` (optional) gives the client address, by the login
    throttle's rule (``client_ip``: the forwarded address behind our proxy)."""
    ip = client_ip(request) if request is not None else None
    return AuditEvent.objects.create(
        action=action, actor_id=actor.user_id, actor_label=actor.label[:64], target=target[:128], detail=detail,
        ip_address=ip or None,
    )


def record_orders(*, actor: Actor, action: str, refs: list[str]) -> AuditEvent:
    """One audit row for an action on several orders (send, refresh): the ref of one, or how many,
    with the first hundred refs."""
    target = refs[0] if len(refs) == 1 else f"{len(refs)} orders"
    return record(actor=actor, action=action, target=target, detail={"count": len(refs), "refs": refs[:100]})


def record_many(*, actor: Actor, action: str, targets: list[str], detail: dict | None = None,
                request=None) -> None:
    """One audit row per target, in one INSERT (a list's live update reveals several codes)."""
    ip = client_ip(request) if request is not None else None
    AuditEvent.objects.bulk_create([
        AuditEvent(action=action, actor_id=actor.user_id, actor_label=actor.label[:64], target=target[:128],
                   detail=detail, ip_address=ip or None)
        for target in targets
    ])


# Card codes shown ---------------------------------------------------------------------------------

# Refs whose code this session has already been shown (and audited); bounded so it stays small.
SESSION_REVEALED = "_revealed_codes"
SESSION_REVEALED_MAX = 500


def show_codes(request, rows, *, via: str, new_only: bool = False, remember: bool = True, viewer=None
               ) -> list[str]:
    """The one door a card code goes through on its way to a screen: each row's code as the user
    may see it (in full, or masked by ``selectors.code_as_shown``), and one ``reveal_code`` audit
    row per code shown in full, all in one INSERT.

    ``rows`` are (ref, card_code, created_by_id). A page view records every code it shows in full
    (one row per order per view). Polled JSON passes ``new_only``: it records a code only the
    first time this session is shown it, so a page and its live-status polling write one row for
    one reveal, not one per poll. Every reveal is remembered in the session for that purpose
    (``remember``: not for exports, whose rows stream after the session is saved). ``viewer``: who
    reads, when it is not the request's user (a customer through a claim link: ``Claimant``).
    """
    from topups import selectors

    user = viewer if viewer is not None else request.user
    shown, revealed = [], []
    for ref, code, owner in rows:
        visible = selectors.code_as_shown(user, code, owner)
        shown.append(visible)
        if code and visible == code:
            revealed.append(ref)
    session = getattr(request, "session", None) if remember else None
    seen = list(session.get(SESSION_REVEALED, [])) if session is not None else []
    targets = [ref for ref in revealed if ref not in seen] if new_only else revealed
    if targets:
        record_many(actor=Actor.user(user), action="reveal_code", targets=targets, detail={"via": via},
                    request=request)
    if session is not None and any(ref not in seen for ref in revealed):
        seen.extend(ref for ref in dict.fromkeys(revealed) if ref not in seen)
        session[SESSION_REVEALED] = seen[-SESSION_REVEALED_MAX:]
    return shown


def find_by_code(request, term: str, *, via: str) -> tuple[int, ...]:
    """The orders whose card code is exactly ``term``, among those the user may see the code of
    (``selectors.orders_by_code``), with one ``search_code`` audit row when any is found: finding
    which order holds a code tells as much as seeing it."""
    from topups import selectors

    found = selectors.orders_by_code(request.user, term)
    if found:
        record(actor=Actor.user(request.user), action="search_code", target=found[0][1] if len(found) == 1
               else f"{len(found)} orders", detail={"via": via, "refs": [ref for _, ref in found]}, request=request)
    return tuple(pk for pk, _ in found)


def show_order_codes(request, orders, *, via: str) -> None:
    """``show_codes`` for Order objects: sets ``order.shown_code`` (what templates print) and
    ``order.code_in_full`` on each."""
    orders = list(orders)
    shown = show_codes(request, [(o.ref, o.card_code, o.created_by_id) for o in orders], via=via)
    for order, code in zip(orders, shown, strict=True):
        order.shown_code = code
        order.code_in_full = bool(code) and code == order.card_code


EXPORT_CHUNK = 1000


def show_codes_streamed(request, rows, *, key, via: str):
    """``show_codes`` for an export: yields (row, code as shown) for each of ``rows``, auditing each
    chunk's codes shown in full (one INSERT per chunk) before the chunk leaves. ``key(row)`` gives
    (ref, card_code, created_by_id)."""
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == EXPORT_CHUNK:
            yield from _show_chunk(request, chunk, key, via)
            chunk = []
    yield from _show_chunk(request, chunk, key, via)


def _show_chunk(request, chunk, key, via):
    codes = show_codes(request, [key(row) for row in chunk], via=via, remember=False) if chunk else []
    return zip(chunk, codes, strict=True)
