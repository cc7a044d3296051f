"""``python manage.py reconcile [--date YYYY-MM-DD] [--backfill-days N]``: the ledger sync, then
matching (what the schedule runs), then the day's summary. The sync reads past passing faults within
its budget (``LEDGER_SYNC_FAULT_BUDGET``) and says how far it got. Exits 1 while flags are open, 2 when
the ledger could not be read to the end (and no flag is open)."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from topups.models import LedgerFlag
from topups.selectors import ledger as ledger_reads
from topups.services import reconcile


class Command(BaseCommand):
    help = "Sync the provider's ledger, match it to the orders and print the day's reconciliation."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the day to summarise (YYYY-MM-DD, shop time; default today)")
        parser.add_argument("--backfill-days", type=int, default=None,
                            help="days a first sync reads back (default LEDGER_BACKFILL_DAYS)")

    def handle(self, *args, date=None, backfill_days=None, **options):
        day = _day(date)
        report = reconcile.run(backfill_days=backfill_days)
        synced, matched = report.sync, report.match
        out = self.stdout.write
        if synced.skipped:
            out("ledger sync: another sync is running; matching what is stored")
        else:
            out(f"ledger sync: {synced.pages} page(s), {synced.received} row(s) read, "
                f"{synced.unreadable} unreadable, {synced.progress()}")
        for error in synced.errors:
            self.stderr.write(f"ledger sync error: {error}")
        out(f"matching: {matched.rows} row(s): {matched.matched} matched, {matched.recorded} recorded, "
            f"{matched.pending} waiting, {matched.flags} new flag(s)")
        summary = ledger_reads.day_summary(day)
        out(f"day {day.isoformat()}: {summary.rows} ledger row(s); opening {_money(summary.opening)}, "
            f"closing {_money(summary.closing)}, ours {_money(summary.expected_closing)}, "
            f"difference {_money(summary.difference)}")
        for entry in summary.by_type:
            out(f"  {entry['type']:<16} {entry['count']:>7}  {_money(entry['total'])}")
        open_flags = LedgerFlag.objects.filter(resolved_at__isnull=True)
        for flag in open_flags.order_by("day", "pk")[:50]:
            out(f"  open flag #{flag.pk} {flag.day} {flag.kind} {flag.detail}")
        out(f"open flags: {report.open_flags}")
        if report.open_flags:
            raise SystemExit(1)
        if synced.errors:
            raise SystemExit(2)


def _day(text: str | None) -> date:
    if not text:
        return timezone.localdate()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError("--date must be YYYY-MM-DD") from None


def _money(value) -> str:
    return "-" if value is None else f"{value:.2f}"
