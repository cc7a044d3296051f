"""Real `manage.py qcluster` processes for the end-to-end tests and the benchmarks.

Each runs in its own process group, so stopping (or killing) one reaches its workers too: they
hold database connections, and a test database cannot be dropped while they live.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
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


def repo_copy(destination: Path) -> Path:
    """A copy of the working tree as a fresh clone would have it (tracked and new files, no
    ``.env``, no database), sharing this checkout's virtualenv."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if not source.is_file() or name == ".venv":
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    (destination / ".venv").symlink_to((ROOT / ".venv").resolve())
    return destination


def processes_with_env(name: str, value: str) -> list[int]:
    """Ids of the live processes whose environment holds ``name=value`` (their descendants
    inherit it, whatever process group or session they moved to)."""
    marker = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in environment and state != "Z":
            found.append(int(entry.name))
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, seconds: float, step: float = 0.2) -> bool:
    """Whether ``condition()`` came true within ``seconds`` (looked at every ``step``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()
