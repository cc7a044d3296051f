"""Production settings: with DEBUG off and real secrets, `check --deploy` reports nothing."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_check(**env_overrides) -> subprocess.CompletedProcess:
    # The browser tests allow async-unsafe ORM use in this process; production does not.
    dropped = {"DJANGO_SETTINGS_MODULE", "HTTPS", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **env_overrides)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_check_deploy_is_clean_with_real_secrets():
    result = run_check(DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="topups.example.dz")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_the_development_secret():
    result = run_check(DEBUG="false", SECRET_KEY="django-insecure-development-key-change-me")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr
