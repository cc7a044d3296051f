"""A developer's .env changes nothing in the tests: ``make run`` writes one with DEBUG=true and
the newcomer's next command is ``make test``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.processes import ROOT, repo_copy

pytestmark = pytest.mark.slow

# The tests whose outcome depends on the settings: production headers and cookies, HTTPS, check --deploy.
SETTINGS_SENSITIVE = ["tests/security/test_headers.py", "tests/project/test_settings.py", "tests/security/test_secrets.py"]


def test_settings_sensitive_tests_pass_with_a_development_dotenv(tmp_path):
    repo = repo_copy(tmp_path / "repo")
    dotenv = (ROOT / ".env.example").read_text()  # what make run copies: DEBUG=true, HTTPS=false
    dotenv += "\nSECURE_HSTS_SECONDS=0\nALLOWED_HOSTS=*\nLOGIN_FAILURE_LIMIT=1000\nONECLICKDZ_API_KEY=demo-key\n"
    (repo / ".env").write_text(dotenv)
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_SETTINGS_MODULE", "SETTINGS_IGNORE_DOTENV", "PYTEST_CURRENT_TEST",
                          "PYTEST_XDIST_WORKER", "DATABASE_URL", "REDIS_URL")}  # its own SQLite file
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SETTINGS_SENSITIVE],
                            cwd=repo, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
