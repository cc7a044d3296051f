"""``make run``'s supervisor: start the simulator, the background workers and the web server, and
stop all of them, with everything they started, on Ctrl-C, SIGTERM or when one of them exits.

Each program runs in its own process group. A signal sent to ``make run``'s group therefore
reaches only this supervisor, which stops the programs in order: SIGTERM to each program (the
qcluster's main process then stops its sentinel, workers, monitor and pusher itself), a grace
period, then SIGKILL to whatever is left in each program's group. Sending SIGTERM to a qcluster's
whole group instead kills its sentinel before it can stop the workers, which leaves orphans.

The simulator and the app always agree on the API's address (``api_plan``): the simulator starts
on the port of the app's ONECLICKDZ_API_URL (environment, then .env, then the default); ``--sim-port``
(``make run SIM_PORT=…``) moves both; a URL that is not this machine's starts no simulator.
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
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.defaults import SIMULATOR_URL  # noqa: E402

GRACE_SECONDS = 15.0
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def configured_api_url(dotenv: Path = ROOT / ".env") -> str:
    """The API URL the app will read: the environment's, else the .env file's (read into this
    process's environment as the settings read it, the environment winning), else the default."""
    if os.environ.get("SETTINGS_IGNORE_DOTENV") != "true":
        import environ

        environ.Env.read_env(dotenv)
    return os.environ.get("ONECLICKDZ_API_URL") or SIMULATOR_URL


def api_plan(api_url: str, sim_port: str | None) -> tuple[str, int | None]:
    """(the URL the app calls, the port the simulator starts on or None): one address for both.
    ``sim_port`` given: the simulator on it and the app pointed at it. Otherwise the simulator on the
    port of a URL of this machine, and none for another host (the real API)."""
    parts = urlsplit(api_url.strip())
    local = (parts.hostname or "") in LOCAL_HOSTS
    if sim_port:
        path = parts.path if local and parts.path else "/v3"
        return urlunsplit(("http", f"127.0.0.1:{int(sim_port)}", path, "", "")), int(sim_port)
    if local:
        return api_url.strip(), parts.port or (443 if parts.scheme == "https" else 80)
    return api_url.strip(), None


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
    parser.add_argument("--sim-port", default="", help="port of the API simulator (default: the API URL's)")
    options = parser.parse_args()
    configured = configured_api_url()
    api_url, sim_port = api_plan(configured, options.sim_port)
    os.environ["ONECLICKDZ_API_URL"] = api_url  # the app's processes call where the simulator listens
    if sim_port is None:
        print(f"The app calls the API at {api_url}; no simulator started.", flush=True)
    else:
        moved = f" (not {configured}: SIM_PORT wins)" if api_url != configured else ""
        print(f"The simulator listens on :{sim_port} and the app calls it at {api_url}{moved}.", flush=True)

    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)

    processes = [
        *([start(["runsimulator", "--port", str(sim_port)])] if sim_port is not None else []),
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
