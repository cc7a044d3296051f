"""Reconciliation: match the provider's ledger rows (``LedgerRow``, from ``services.ledger``) to our
orders, and flag what differs. Nothing is fixed silently: each difference is a ``LedgerFlag`` a
supervisor resolves with a note (audited). The one order change that follows from the ledger, a
refund we were not told about, goes through a status check (``sync.schedule_refresh``): the order
moves only when the API's answer confirms it, never from the ledger row itself.

What each ledger type means is ``meaning_of``: a product line's debit and refund types (each line
names its own), or the account's other movements in ``LEDGER_TYPES``.

Flags: a debit with no order, an order accepted with no debit (after ``LEDGER_GRACE_SECONDS``), an
amount different from the order's cost, a refund with no refund on our side, a break in the
balance chain (a row's old balance is not the previous row's new balance), a row we cannot read.
Queries per chunk of rows are constant.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext_noop

from topups import lines
from topups.days import shop_day
from topups.ledger_types import (  # noqa: F401 (callers read them here too)
    DEBIT,
    LEDGER_TYPES,
    REFUND,
    Meaning,
    debit_types,
    meaning_of,
    refund_types,
)
from topups.models import (
    ACCEPTED_STATUSES,
    TRACKED_STATUSES,
    FlagKind,
    LedgerFlag,
    LedgerRow,
    LedgerState,
    Order,
    OrderStatus,
)
from topups.notes import COST_SET, TAKEN_BACK_NOTE, Note
from topups.services import audit, ledger, lifecycle, planning, sync
from topups.services.actors import Actor
from topups.services.lifecycle import Change

S = OrderStatus


# Orders the API accepted (so the ledger must hold their debit).
ACCEPTED = ACCEPTED_STATUSES
CHUNK = 1000
# How far back "accepted with no debit" looks at each run (older orders were looked at already).
NO_DEBIT_LOOKBACK = timedelta(days=3)
CHAIN_LOCK = "topups:ledger-chain"
# A ledger row judged once: an order's debit or refund, a second one is an extra movement.
JUDGED = (LedgerState.MATCHED, LedgerState.FLAGGED)
RECONCILE = Actor.task("reconcile")


@dataclass
class MatchReport:
    rows: int = 0
    matched: int = 0
    recorded: int = 0
    pending: int = 0
    flags: int = 0
    refreshes: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def grace() -> timedelta:
    return timedelta(seconds=settings.LEDGER_GRACE_SECONDS)


def _flag(report: MatchReport, kind: str, key: str, moment: datetime, *, row: LedgerRow | None = None,
          order_id: int | None = None, expected=None, found=None, detail: str = "") -> LedgerFlag:
    report.flags += 1
    report.by_kind[kind] = report.by_kind.get(kind, 0) + 1
    return LedgerFlag(key=f"{kind}:{key}"[:96], kind=kind, day=shop_day(moment), row=row, order_id=order_id,
                      expected=expected, found=found, detail=detail[:255])


# Matching -------------------------------------------------------------------------------------------


def match_ledger(*, now: datetime | None = None) -> MatchReport:
    """Match every row waiting (new, or too young to judge last time), check the balance chain,
    and look for accepted orders without a debit. Safe to run twice or at once from two workers:
    a flag is unique per (kind, row or order) and rows are locked while judged."""
    now = now or timezone.now()
    report = MatchReport()
    _check_chain(report, now)
    last = 0
    while True:
        with transaction.atomic():
            chunk = list(LedgerRow.objects.select_for_update(skip_locked=True)
                         .filter(state=LedgerState.PENDING, pk__gt=last).order_by("pk")
                         .only("pk", "api_id", "type", "objid", "amount", "time", "raw", "state", "order")[:CHUNK])
            if not chunk:
                break
            last = chunk[-1].pk
            _match_chunk(chunk, report, now)
    _check_missing_debits(report, now)
    return report


def _match_chunk(chunk: list[LedgerRow], report: MatchReport, now: datetime) -> None:
    objids = {r.objid for r in chunk if r.objid}
    orders = {o.topup_id: o for o in Order.objects.filter(topup_id__in=objids)
              .only("pk", "topup_id", "status", "cost", "cost_confirmed", "ref", "service", "api_status", "number",
                    "card_code")} if objids else {}
    judged = _judged_movements(objids, chunk)
    flags: list[LedgerFlag] = []
    refresh: list[int] = []
    costs: list[Change] = []
    young = now - grace()
    for row in chunk:
        report.rows += 1
        meaning = meaning_of(row.type)
        if row.raw is not None:
            row.state = LedgerState.FLAGGED
            flags.append(_flag(report, FlagKind.UNREADABLE, row.api_id, row.time, row=row,
                               detail=gettext_noop("The API sent a ledger row the client cannot read.")))
        elif meaning is None or meaning.role is None:
            row.state = LedgerState.RECORDED
        elif lines.find(meaning.service) is None:
            row.state = LedgerState.OTHER_SERVICE
        elif row.objid and (row.objid, meaning.role) in judged:
            _flag_extra(row, orders.get(row.objid), meaning.role, judged[(row.objid, meaning.role)], flags, report)
        elif meaning.role == DEBIT:
            _match_debit(row, orders.get(row.objid), flags, costs, report, young)
        else:
            _match_refund(row, orders.get(row.objid), judged.get((row.objid, DEBIT)), flags, refresh, report,
                          young)
        if row.objid and meaning is not None and meaning.role and row.raw is None and row.state in JUDGED:
            judged.setdefault((row.objid, meaning.role), row.amount)
        if row.state == LedgerState.MATCHED:
            report.matched += 1
        elif row.state in (LedgerState.RECORDED, LedgerState.OTHER_SERVICE):
            report.recorded += 1
        elif row.state == LedgerState.PENDING:
            report.pending += 1
    _save_matches(chunk)
    if flags:
        LedgerFlag.objects.bulk_create(flags, ignore_conflicts=True)
    if costs:
        lifecycle.apply_changes(costs, RECONCILE)
    if refresh:
        report.refreshes += sync.schedule_refresh(refresh)


def _save_matches(chunk: list[LedgerRow]) -> None:
    """Write the chunk's states and orders: one UPDATE per state (at most five) and one that links
    each matched row to its order by top-up id (Django's bulk_update builds a CASE of a thousand
    branches: ten times slower here)."""
    by_state: dict[str, list[int]] = defaultdict(list)
    for row in chunk:
        by_state[row.state].append(row.pk)
    for state, ids in by_state.items():
        LedgerRow.objects.filter(pk__in=ids).update(state=state)
    linked = [row.pk for row in chunk if row.order_id is not None]
    if linked:
        first = Order.objects.filter(topup_id=OuterRef("objid")).order_by("pk").values("pk")[:1]
        LedgerRow.objects.filter(pk__in=linked).update(order=Subquery(first))


def _judged_movements(objids: set[str], chunk: list[LedgerRow]) -> dict[tuple[str, str], Decimal | None]:
    """The debit and the refund already judged (matched or flagged) for each top-up of the chunk:
    {(objid, DEBIT or REFUND): its amount}. An order has one of each at most: any other is extra."""
    if not objids:
        return {}
    found: dict[tuple[str, str], Decimal | None] = {}
    rows = (LedgerRow.objects.filter(objid__in=objids, type__in=debit_types() + refund_types(), state__in=JUDGED,
                                     raw__isnull=True).exclude(pk__in=[r.pk for r in chunk])
            .order_by("pk").values_list("objid", "type", "amount"))
    for objid, kind, amount in rows:
        found.setdefault((objid, meaning_of(kind).role), amount)
    return found


def _flag_extra(row: LedgerRow, order: Order | None, role: str, first, flags: list, report: MatchReport) -> None:
    """A second debit (or refund) for a top-up that has one already: never matched, always flagged."""
    row.order, row.state = order, LedgerState.FLAGGED
    detail = (gettext_noop("A second debit for this top-up.") if role == DEBIT
              else gettext_noop("A second refund for this top-up."))
    flags.append(_flag(report, FlagKind.EXTRA_MOVEMENT, row.api_id, row.time, row=row,
                       order_id=order.pk if order else None, expected=first, found=row.amount, detail=detail))


def _match_debit(row: LedgerRow, order: Order | None, flags: list, costs: list, report: MatchReport,
                 young: datetime) -> None:
    if order is not None:
        row.order = order
        fix = planning.cost_from_api(order, row.amount) if order.line.cost_set_by_debit else {}
        if fix:
            # A mobile top-up's cost is what the API debited: the ledger row says it (the rule the
            # API applies, full amount or multiplier, is not documented for sure).
            row.state = LedgerState.MATCHED
            if fix["cost"] != order.cost:
                costs.append(Change(order.pk, None, fields=fix, record=True, note=Note(
                    COST_SET, cost=str(fix["cost"]), estimate=str(order.cost if order.cost is not None else "—"))))
            else:
                costs.append(Change(order.pk, None, fields=fix))
        elif order.cost is not None and row.amount is not None and row.amount != order.cost:
            row.state = LedgerState.FLAGGED
            flags.append(_flag(report, FlagKind.AMOUNT_DIFFERS, row.api_id, row.time, row=row, order_id=order.pk,
                               expected=order.cost, found=row.amount))
        else:
            row.state = LedgerState.MATCHED
    elif row.objid and row.time > young:
        row.state = LedgerState.PENDING  # the send's answer may still be on its way (see sync)
    else:
        row.state = LedgerState.FLAGGED
        flags.append(_flag(report, FlagKind.DEBIT_WITHOUT_ORDER, row.api_id, row.time, row=row, found=row.amount,
                           detail="" if row.objid else gettext_noop("The row names no top-up.")))


def _match_refund(row: LedgerRow, order: Order | None, debited, flags: list, refresh: list, report: MatchReport,
                  young: datetime) -> None:
    if order is not None:
        row.order = order
        # A refund gives back what was debited (the debit row's amount, else the order's cost), or
        # the part its line says (the undelivered cards of a gift-card order partly filled).
        expected, settled = order.line.expected_refund(order, debited)
        if expected is not None and row.amount is not None and row.amount != expected:
            if order.status in TRACKED_STATUSES:
                refresh.append(order.pk)
            row.state = LedgerState.FLAGGED
            flags.append(_flag(report, FlagKind.REFUND_DIFFERS, row.api_id, row.time, row=row, order_id=order.pk,
                               expected=expected, found=row.amount))
            return
        if settled:
            row.state = LedgerState.MATCHED
            return
        if order.status in TRACKED_STATUSES:
            refresh.append(order.pk)  # a status check decides; the order moves only if it confirms
            if row.time > young:
                row.state = LedgerState.PENDING
                return
    elif row.objid and row.time > young:
        row.state = LedgerState.PENDING
        return
    row.state = LedgerState.FLAGGED
    detail = (gettext_noop("Our order was not refunded.") if order is not None
              else gettext_noop("No order of ours has this top-up id."))
    flags.append(_flag(report, FlagKind.REFUND_NOT_LOCAL, row.api_id, row.time, row=row,
                       order_id=order.pk if order else None, found=row.amount, detail=detail))


def _check_chain(report: MatchReport, now: datetime) -> None:
    """Each row's old balance must be the previous row's new balance. Rows are taken in time
    order; rows of the same millisecond in the order that chains them (a chunk never splits a
    millisecond). Only rows the ledger sync has fully read are checked: older than the walk in
    progress, and than the last complete sync by the grace period (a late row still fits in)."""
    state = ledger.cursor()
    if state.synced_at is None:
        return
    # One worker walks the chain (a second one would judge a chunk before the one ahead of it is
    # written); the other skips it, this run.
    token = f"{now.isoformat()}-{id(report)}"
    if not cache.add(CHAIN_LOCK, token, timeout=int(settings.Q_CLUSTER["timeout"]) + 10):
        return
    try:
        _walk_chain(report, state, now)
    finally:
        if cache.get(CHAIN_LOCK) == token:
            cache.delete(CHAIN_LOCK)


def _walk_chain(report: MatchReport, state, now: datetime) -> None:
    until = min(state.synced_at, now) - grace()
    if state.walk_from is not None:
        until = min(until, state.walk_from)
    previous = None
    while True:
        with transaction.atomic():
            # Not SKIP LOCKED: rows another worker is matching (locked) must be read all the same.
            waiting = (LedgerRow.objects.filter(chain_checked=False, time__lte=until)
                       .only("pk", "api_id", "old_balance", "new_balance", "time"))
            chunk = list(waiting.order_by("time", "pk")[:CHUNK])
            if not chunk:
                return
            if len(chunk) == CHUNK:  # the rest of the last millisecond too
                chunk += list(waiting.filter(time=chunk[-1].time).exclude(pk__in=[r.pk for r in chunk]))
            if previous is None:
                previous = _chain_end(LedgerRow.objects.filter(chain_checked=True, time__lte=chunk[0].time))
            flags = []
            for row, before in _chained(chunk, previous):
                row.chain_checked = True
                if (before is not None and before.new_balance is not None and row.old_balance is not None
                        and row.old_balance != before.new_balance):
                    flags.append(_flag(report, FlagKind.BALANCE_BREAK, row.api_id, row.time, row=row,
                                       expected=before.new_balance, found=row.old_balance,
                                       detail=f"← {before.api_id}"))
                previous = row
            LedgerRow.objects.filter(pk__in=[row.pk for row in chunk]).update(chain_checked=True)
            if flags:
                LedgerFlag.objects.bulk_create(flags, ignore_conflicts=True)


def _chained(rows: list[LedgerRow], previous: LedgerRow | None) -> list[tuple[LedgerRow, LedgerRow | None]]:
    """(row, the row before it) in chain order: by time, and within one millisecond in an order
    that chains them (see ``_ordered``)."""
    result = []
    index = 0
    while index < len(rows):
        end = index
        while end < len(rows) and rows[end].time == rows[index].time:
            end += 1
        for row in _ordered(rows[index:end], previous.new_balance if previous is not None else None):
            result.append((row, previous))
            previous = row
        index = end
    return result


def _ordered(group: list[LedgerRow], start) -> list[LedgerRow]:
    """Rows of one millisecond in chain order: each row a move from its old balance to its new one,
    the order a trail through all of them starting at ``start`` (Hierholzer's algorithm; the same
    balance may come back, e.g. a debit, its refund, another debit). Rows no trail reaches come
    after, in id order: the breaks they show are real."""
    if len(group) == 1:
        return group
    moves: dict = defaultdict(list)
    for row in reversed(group):  # popped from the end: lowest id first
        moves[row.old_balance].append(row)
    if start not in moves:  # where the millisecond's chain begins: more rows leave it than lead to it
        leave, lead = Counter(r.old_balance for r in group), Counter(r.new_balance for r in group)
        start = next((r.old_balance for r in group if leave[r.old_balance] > lead[r.old_balance]),
                     group[0].old_balance)
    stack, trail = [(start, None)], []
    while stack:
        balance, row = stack[-1]
        if moves[balance]:
            step = moves[balance].pop()
            stack.append((step.new_balance, step))
        else:
            stack.pop()
            if row is not None:
                trail.append(row)
    trail.reverse()
    used = {id(r) for r in trail}
    return trail + [r for r in group if id(r) not in used]


def _chain_end(checked) -> LedgerRow | None:
    """The last row of the chain among ``checked`` rows: of the latest millisecond, the row no
    other row of that millisecond follows on from."""
    last = checked.order_by("-time", "-pk").only("time").first()
    if last is None:
        return None
    group = list(checked.filter(time=last.time).only("api_id", "old_balance", "new_balance", "time"))
    olds = {r.old_balance for r in group}
    ends = [r for r in group if r.new_balance not in olds]
    return (ends or group)[-1]


def _check_missing_debits(report: MatchReport, now: datetime) -> None:
    """Orders the API accepted more than the grace period before the last complete ledger sync,
    inside the period the ledger covers, with no debit row."""
    state = ledger.cursor()
    if state.covered_from is None or state.synced_at is None:
        return
    until = min(now, state.synced_at) - grace()
    since = max(state.covered_from, now - NO_DEBIT_LOOKBACK)
    debits = LedgerRow.objects.filter(objid=OuterRef("topup_id"), type__in=debit_types())
    flagged = LedgerFlag.objects.filter(order=OuterRef("pk"), kind=FlagKind.DEBIT_MISSING)
    missing = list(Order.objects.filter(status__in=ACCEPTED, sent_at__gte=since, sent_at__lte=until)
                   .exclude(topup_id="").exclude(cost=0)  # a mobile menu request is not charged
                   .filter(~Exists(debits), ~Exists(flagged))
                   .only("pk", "ref", "cost", "sent_at")[:CHUNK])
    flags = [_flag(report, FlagKind.DEBIT_MISSING, f"order:{o.pk}", o.sent_at, order_id=o.pk, expected=o.cost,
                   detail=o.ref) for o in missing]
    if flags:
        LedgerFlag.objects.bulk_create(flags, ignore_conflicts=True)


# One run: sync then match ----------------------------------------------------------------------------


@dataclass
class RunReport:
    sync: ledger.LedgerSyncReport
    match: MatchReport
    open_flags: int


def run(*, backfill_days: int | None = None, max_seconds: float | None = None,
        now: datetime | None = None) -> RunReport:
    """Ledger sync, then matching (also when the sync failed: what is stored is matched)."""
    synced = ledger.sync_ledger(backfill_days=backfill_days, max_seconds=max_seconds, now=now)
    matched = match_ledger(now=now)
    return RunReport(synced, matched, open_flags())


def open_flags() -> int:
    return LedgerFlag.objects.filter(resolved_at__isnull=True).count()


def resolve_flag(*, flag_id: int, note: str, actor: Actor, request=None) -> LedgerFlag | None:
    """Close an open flag with the supervisor's note, and an audit row. None if it was not open.

    A refund of an order we show as fulfilled (the provider took a delivered card back) also moves
    the order to *card taken back* through the status door, in the same transaction: no longer a
    sale, and its price is booked as handed back in the cash session open now (``tills``)."""
    note = note.strip()
    if not note:
        raise ValueError("a resolution needs a note")
    with transaction.atomic():
        flag = LedgerFlag.objects.select_for_update().filter(pk=flag_id, resolved_at__isnull=True).first()
        if flag is None:
            return None
        flag.resolved_at, flag.resolved_by_id, flag.resolution = timezone.now(), actor.user_id, note
        flag.save(update_fields=["resolved_at", "resolved_by", "resolution"])
        taken_back = _take_back(flag, actor, note)
        audit.record(actor=actor, action="resolve_ledger_flag", target=flag.key,
                     detail={"kind": flag.kind, "day": flag.day.isoformat(), "note": note[:500],
                             "taken_back": taken_back or None}, request=request)
    return flag


# The flags a provider's refund of a delivered card raises: a refund we did not expect, or one of
# another sum than the debit (checked first); resolving either takes the card back.
TAKES_BACK = frozenset({FlagKind.REFUND_NOT_LOCAL, FlagKind.REFUND_DIFFERS})


def takes_back(flag: LedgerFlag) -> bool:
    """Whether resolving ``flag`` moves its order to *card taken back* (the day page says so first)."""
    return flag.kind in TAKES_BACK and flag.order is not None and flag.order.status == S.FULFILLED


def _take_back(flag: LedgerFlag, actor: Actor, note: str) -> str:
    """The order a resolved refund flag says the provider took back after delivering it, moved to
    TAKEN_BACK (its ref), or "" when the flag is not that."""
    if flag.kind not in TAKES_BACK or flag.order_id is None or flag.row_id is None:
        return ""
    order = Order.objects.select_for_update().filter(pk=flag.order_id, status=S.FULFILLED).first()
    row = LedgerRow.objects.filter(pk=flag.row_id).only("type", "amount", "time").first()
    if order is None or row is None or (meaning_of(row.type) or Meaning(True)).role != REFUND:
        return ""
    moved = lifecycle.move(order, S.TAKEN_BACK, actor, note=Note(TAKEN_BACK_NOTE, amount=str(row.amount), note=note[:150]),
                           payload={"ledger_row": flag.row_id, "flag": flag.pk})
    return order.ref if moved else ""
