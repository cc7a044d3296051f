"""``make run``'s supervisor: start the simulator, the background workers and the web server, and
stop all of them, with everything they started, on Ctrl-C, SIGTERM or when one of them exits.

Each program runs in its own process group. A signal sent to ``make run``'s group therefore
reaches only this supervisor, which stops the programs in order: SIGTERM to each program (the
qcluster's main process then stops its sentinel, workers, monitor and pusher itself), a grace
period, then SIGKILL to whatever is left in each program's group. Sending SIGTERM to a qcluster's
whole group instead kills its sentinel before it can stop the workers, which leaves orphans.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 15.0


def start(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *command], cwd=ROOT, start_new_session=True)


def stop_all(processes: list[subprocess.Popen], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM each program's main process, wait up to ``grace`` seconds, then SIGKILL every
    process left in each program's group (a group outlives its leader while members remain)."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(max(0.0, deadline - time.monotonic()))
    for process in processes:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--web", default="127.0.0.1:8000", help="address of the web server")
    parser.add_argument("--sim-port", default="8099", help="port of the API simulator")
    options = parser.parse_args()

    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)

    processes = [
        start(["runsimulator", "--port", str(options.sim_port)]),
        start(["qcluster"]),
        start(["runserver", "--noreload", options.web]),
    ]
    try:
        while not stopping and all(process.poll() is None for process in processes):
            time.sleep(0.2)
    finally:
        # No second signal interrupts the shutdown half-way.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        stop_all(processes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
