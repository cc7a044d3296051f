"""``make run``'s ports and the app's API URL agree whatever the variables say (scripts/run_stack.py)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.processes import ROOT

spec = importlib.util.spec_from_file_location("run_stack", ROOT / "scripts" / "run_stack.py")
run_stack = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_stack)


@pytest.mark.parametrize(("configured", "sim_port", "app_calls", "simulator_on"), [
    # make run SIM_PORT=8499 while .env still says 8099: both move to 8499 (the case).
    ("http://127.0.0.1:8099/v3", "8499", "http://127.0.0.1:8499/v3", 8499),
    # No SIM_PORT: the simulator listens where the app's URL points.
    ("http://127.0.0.1:8099/v3", "", "http://127.0.0.1:8099/v3", 8099),
    ("http://localhost:9123/v3", None, "http://localhost:9123/v3", 9123),
    # The real API: no simulator, the URL untouched...
    ("https://api.oneclickdz.com/v3", "", "https://api.oneclickdz.com/v3", None),
    # ... unless a simulator port is asked for: then the app calls the simulator, not the real API.
    ("https://api.oneclickdz.com/v3", "8499", "http://127.0.0.1:8499/v3", 8499),
])
def test_the_simulator_and_the_app_agree(configured, sim_port, app_calls, simulator_on):
    assert run_stack.api_plan(configured, sim_port) == (app_calls, simulator_on)


def test_the_url_is_read_as_the_settings_read_it(tmp_path, monkeypatch):
    dotenv = tmp_path / ".env"
    dotenv.write_text("ONECLICKDZ_API_URL=http://127.0.0.1:8123/v3\n")
    # Set then removed, so that the value .env puts in os.environ is undone after the test.
    for name in ("ONECLICKDZ_API_URL", "SETTINGS_IGNORE_DOTENV"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    assert run_stack.configured_api_url(dotenv) == "http://127.0.0.1:8123/v3"  # .env
    monkeypatch.setenv("ONECLICKDZ_API_URL", "http://127.0.0.1:8777/v3")
    assert run_stack.configured_api_url(dotenv) == "http://127.0.0.1:8777/v3"  # the environment wins
    monkeypatch.delenv("ONECLICKDZ_API_URL")
    assert run_stack.configured_api_url(tmp_path / "missing.env") == "http://127.0.0.1:8099/v3"  # the default
