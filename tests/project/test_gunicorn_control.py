"""Two gunicorns of one user on one host keep their own control sockets. gunicorn 25 and later open
``~/.gunicorn/gunicorn.ctl`` unless told otherwise: a second instance took that socket over and
removed it when it stopped, leaving the first uncontrollable. Both are started here as
``bench/load.py`` starts its gunicorn (``gunicorn_command``), under the same (temporary) home."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from gunicorn.ctl.client import ControlClient, ControlClientError

from bench.load import free_port, gunicorn_command
from tests.processes import ROOT, stop_group

pytestmark = pytest.mark.slow


def start(run_dir: Path, env: dict) -> subprocess.Popen:
    run_dir.mkdir()
    log = open(run_dir / "gunicorn.log", "w")  # noqa: SIM115 (closed by stop_group)
    return subprocess.Popen(gunicorn_command(port=free_port(), workers=1, threads=1, run_dir=run_dir), cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def workers_behind(socket_path: Path, seconds: float = 20) -> list[int]:
    """The worker pids the gunicorn listening on ``socket_path`` reports (waiting for it to boot)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with ControlClient(str(socket_path), timeout=5) as client:
                answer = client.send_command("show workers")
            pids = [worker["pid"] for worker in answer.get("workers", [])]
            if pids:
                return pids
        except (ControlClientError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no gunicorn answers on {socket_path}")
        time.sleep(0.2)


def test_two_gunicorns_of_one_user_do_not_share_a_control_socket(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(home), "DJANGO_SETTINGS_MODULE": "config.settings",
           "DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    first = start(tmp_path / "first", env)
    second = start(tmp_path / "second", env)
    try:
        first_socket, second_socket = tmp_path / "first" / "gunicorn.ctl", tmp_path / "second" / "gunicorn.ctl"
        assert {parent_of(pid) for pid in workers_behind(first_socket)} == {first.pid}
        assert {parent_of(pid) for pid in workers_behind(second_socket)} == {second.pid}
        assert not (home / ".gunicorn").exists()  # nothing in the shared default place
        stop_group(first)
        # The first one stopping leaves the second controllable.
        assert second.poll() is None
        assert {parent_of(pid) for pid in workers_behind(second_socket, seconds=5)} == {second.pid}
    finally:
        stop_group(first)
        stop_group(second)
