"""``make run`` as a newcomer runs it: it starts, and stopping it leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
import uuid

import pytest

from tests.processes import free_port, processes_with_env, repo_copy

pytestmark = pytest.mark.slow


def wait_for(condition, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    return condition()


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stopping_make_run_leaves_no_process(tmp_path, sig):
    repo = repo_copy(tmp_path / "repo")
    web_port, sim_port = free_port(), free_port()
    marker = uuid.uuid4().hex
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_SETTINGS_MODULE", "SETTINGS_IGNORE_DOTENV", "DATABASE_URL", "REDIS_URL")}
    env.update(MAKE_RUN_TEST=marker, ONECLICKDZ_API_URL=f"http://127.0.0.1:{sim_port}/v3", Q_WORKERS="2")
    log = open(tmp_path / "make-run.log", "w")  # noqa: SIM115 (closed below)
    # -o: the shared virtualenv counts as installed, whatever the copied files' dates.
    make = subprocess.Popen(["make", "-o", ".venv/.installed", "run", f"WEB_ADDR=127.0.0.1:{web_port}", f"SIM_PORT={sim_port}"],
                            cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: make.poll() is not None or answers(f"http://127.0.0.1:{web_port}/"), 120)
        assert make.poll() is None and answers(f"http://127.0.0.1:{web_port}/"), \
            (tmp_path / "make-run.log").read_text()[-3000:]
        # The qcluster has started its workers: main, sentinel, 2 workers, monitor, pusher at least.
        assert wait_for(lambda: len(processes_with_env("MAKE_RUN_TEST", marker)) >= 8, 60)
        os.killpg(make.pid, sig)  # what Ctrl-C (SIGINT) or a service manager (SIGTERM) does
        make.wait(60)
        left = wait_for(lambda: not processes_with_env("MAKE_RUN_TEST", marker), 30) or \
            processes_with_env("MAKE_RUN_TEST", marker)
        assert left is True, [(pid, open(f"/proc/{pid}/cmdline").read()) for pid in left]
    finally:
        for pid in processes_with_env("MAKE_RUN_TEST", marker):
            os.kill(pid, signal.SIGKILL)
        log.close()
