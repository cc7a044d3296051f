"""Real `manage.py qcluster` processes for the end-to-end tests and the benchmarks.

Each runs in its own process group, so stopping (or killing) one reaches its workers too: they
hold database connections, and a test database cannot be dropped while they live.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def database_url(settings_dict: dict) -> str:
    """DATABASE_URL for another process to open the same database as ``settings_dict``."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    host, port = settings_dict.get("HOST") or "127.0.0.1", settings_dict.get("PORT") or 5432
    return f"postgres://{settings_dict['USER']}@{host}:{port}/{settings_dict['NAME']}"


def start_qcluster(*, database_url: str, api_url: str, workers: int, log_path: Path | None = None,
                   extra_env: dict | None = None) -> subprocess.Popen:
    """Start a qcluster with queued (not inline) tasks, on that database and API."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url,
        "ONECLICKDZ_API_URL": api_url,
        "Q_SYNC": "false",
        "Q_WORKERS": str(workers),
        **{name: str(value) for name, value in (extra_env or {}).items()},
    }
    output = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115 (closed with the process)
    return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=output,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop_group(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Stop a process and its whole group; SIGKILL if it lingers (a sweeper sleeping between
    cycles has nothing to save)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    if process.stdout not in (None, subprocess.DEVNULL):
        process.stdout.close()


@contextlib.contextmanager
def qclusters(count: int, *, database_url: str, api_url: str, workers: int, log_name: str = "qcluster",
              extra_env: dict | None = None) -> Iterator[list[subprocess.Popen]]:
    """``count`` qclusters, logs in test-artifacts/, all stopped on exit."""
    processes: list[subprocess.Popen] = []
    try:
        for index in range(count):
            log_path = ROOT / "test-artifacts" / f"{log_name}-{index}.log"
            processes.append(start_qcluster(database_url=database_url, api_url=api_url, workers=workers,
                                            log_path=log_path, extra_env=extra_env))
        yield processes
    finally:
        for process in processes:
            stop_group(process)
