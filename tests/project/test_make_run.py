"""``make run`` as a newcomer runs it: it starts, stopping it leaves no process behind, and
``make test`` passes after it (the .env it writes changes nothing in the tests)."""

from __future__ import annotations

import contextlib
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


def make_env(marker: str, sim_port: int) -> dict:
    """A newcomer's shell: no settings module, no database or Redis of ours."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_SETTINGS_MODULE", "SETTINGS_IGNORE_DOTENV", "DATABASE_URL", "REDIS_URL",
                          "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS")}
    env.update(MAKE_RUN_TEST=marker, ONECLICKDZ_API_URL=f"http://127.0.0.1:{sim_port}/v3", Q_WORKERS="2")
    return env


def run_then_stop(repo, log_path, sig) -> list[int]:
    """``make run`` in ``repo`` until it answers and its cluster is up, then ``sig`` to its process
    group as Ctrl-C (SIGINT) or a service manager (SIGTERM) sends it. Returns the processes left."""
    web_port, sim_port = free_port(), free_port()
    marker = uuid.uuid4().hex
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    # -o: the shared virtualenv counts as installed, whatever the copied files' dates.
    make = subprocess.Popen(["make", "-o", ".venv/.installed", "run", f"WEB_ADDR=127.0.0.1:{web_port}", f"SIM_PORT={sim_port}"],
                            cwd=repo, env=make_env(marker, sim_port), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_for(lambda: make.poll() is not None or answers(f"http://127.0.0.1:{web_port}/"), 120)
        assert make.poll() is None and answers(f"http://127.0.0.1:{web_port}/"), log_path.read_text()[-3000:]
        # The qcluster has started its workers: main, sentinel, 2 workers, monitor, pusher at least.
        assert wait_for(lambda: len(processes_with_env("MAKE_RUN_TEST", marker)) >= 8, 60)
        os.killpg(make.pid, sig)
        make.wait(60)
        left = wait_for(lambda: not processes_with_env("MAKE_RUN_TEST", marker), 30) or \
            processes_with_env("MAKE_RUN_TEST", marker)
        return [] if left is True else left
    finally:
        for pid in processes_with_env("MAKE_RUN_TEST", marker):
            os.kill(pid, signal.SIGKILL)
        log.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stopping_make_run_leaves_no_process(tmp_path, sig):
    left = run_then_stop(repo_copy(tmp_path / "repo"), tmp_path / "make-run.log", sig)
    assert left == [], [(pid, open(f"/proc/{pid}/cmdline").read()) for pid in left]


# The tests whose outcome depends on the settings: production headers and cookies, HTTPS, check --deploy.
SETTINGS_SENSITIVE = ["tests/security/test_headers.py", "tests/project/test_settings.py", "tests/security/test_secrets.py"]


def test_make_test_passes_after_make_run_on_a_fresh_clone(tmp_path):
    repo = repo_copy(tmp_path / "repo")
    assert run_then_stop(repo, tmp_path / "make-run.log", signal.SIGINT) == []
    assert "DEBUG=true" in (repo / ".env").read_text().replace(" ", "")  # what make run left behind
    # make test itself, on the tests the settings decide (the whole suite is the CI's job).
    env = make_env(uuid.uuid4().hex, free_port())
    env["PYTEST_ADDOPTS"] = " ".join(["-q", "-p", "no:cacheprovider", *SETTINGS_SENSITIVE])
    result = subprocess.run(["make", "-o", ".venv/.dev-installed", "-o", "chromium", "test"], cwd=repo, env=env,
                            capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


def test_sim_port_moves_the_app_with_the_simulator(tmp_path):
    """``make run SIM_PORT=…`` while .env still points at another port: the app calls the simulator
    it started (the dashboard shows a balance, no "cannot be reached" banner)."""
    import requests

    repo = repo_copy(tmp_path / "repo")
    stale_port, web_port, sim_port = free_port(), free_port(), free_port()
    (repo / ".env").write_text((repo / ".env.example").read_text().replace(
        "ONECLICKDZ_API_URL=http://127.0.0.1:8099/v3", f"ONECLICKDZ_API_URL=http://127.0.0.1:{stale_port}/v3"))
    marker = uuid.uuid4().hex
    env = make_env(marker, sim_port)
    del env["ONECLICKDZ_API_URL"]
    log_path = tmp_path / "make-run.log"
    with open(log_path, "w") as log:
        make = subprocess.Popen(["make", "-o", ".venv/.installed", "run", f"WEB_ADDR=127.0.0.1:{web_port}",
                                 f"SIM_PORT={sim_port}"], cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        base = f"http://127.0.0.1:{web_port}"
        wait_for(lambda: make.poll() is not None or answers(base + "/login/"), 120)
        assert make.poll() is None and answers(base + "/login/"), log_path.read_text()[-3000:]
        assert f"the app calls it at http://127.0.0.1:{sim_port}/v3" in log_path.read_text()
        session = requests.Session()
        session.get(base + "/login/", timeout=10)
        session.post(base + "/login/", timeout=30, headers={"Referer": base + "/login/"},
                     data={"username": "operator", "password": "operator-demo",
                           "csrfmiddlewaretoken": session.cookies["csrftoken"]})
        home = session.get(base + "/", timeout=60).text
        assert "api-unreachable" not in home and "Not known yet" not in home, home[-3000:]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGTERM)
        make.wait(60)
        for pid in processes_with_env("MAKE_RUN_TEST", marker):
            os.kill(pid, signal.SIGKILL)

