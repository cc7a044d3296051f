"""``python manage.py runsimulator``: serve the OneClickDZ API simulator for the demo and benchmarks.

The only Django-aware piece of the simulator: it reads the key the dashboard will send from
``settings.ONECLICKDZ_API_KEY`` so the two agree without extra configuration.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand

from topups.simulator import DEMO_KEY, Simulator, make_server


class Command(BaseCommand):
    help = "Serve the OneClickDZ API simulator (account and internet top-ups) until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8099)
        parser.add_argument("--latency", type=float, default=0.0, metavar="MS",
                            help="extra latency added to every API call, in milliseconds")
        parser.add_argument("--fulfil-after", type=float, default=3.0, metavar="S",
                            help="seconds an order stays HANDLING (default 3)")
        parser.add_argument("--queue-for", type=float, default=120.0, metavar="S",
                            help="seconds a QUEUED order waits before its final status (default 120)")
        parser.add_argument("--key-type", choices=("SANDBOX", "PRODUCTION"), default="SANDBOX",
                            help="what /validate reports for the key (default SANDBOX)")

    def handle(self, *args, **options):
        key = getattr(settings, "ONECLICKDZ_API_KEY", "") or ""
        if not key:
            key = DEMO_KEY
            self.stdout.write(self.style.WARNING(
                f"ONECLICKDZ_API_KEY is empty: the simulator accepts the demo key {DEMO_KEY!r}. "
                f"Set ONECLICKDZ_API_KEY={DEMO_KEY} for the dashboard to use it."
            ))
        simulator = Simulator(
            {key: {"type": options["key_type"], "scope": "READ-WRITE"}},
            latency_ms=options["latency"],
            fulfil_after=options["fulfil_after"],
            queue_for=options["queue_for"],
        )
        server = make_server(simulator, options["host"], options["port"], log=self._log)
        host, port = server.server_address[:2]
        self.stdout.write(f"OneClickDZ simulator on http://{host}:{port}/v3 (control: http://{host}:{port}/_sim/)")
        self.stdout.write("Quit with CONTROL-C.")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopping the simulator.")
        finally:
            server.stop(serving=False)

    def _log(self, line: str) -> None:
        # Method, path, status and duration only: the server never passes the key to the log.
        self.stdout.write(f"{datetime.now(UTC).strftime('%H:%M:%S')} {line}")
