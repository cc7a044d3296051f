"""The set-up every benchmark shares: the project on the path, a throw-away database, Django
configured, and the app pointed at an in-process simulator.

Usage, at the top of a script, before any Django import::

    from common import setup
    TMP = setup("bench-name")              # test settings, a fresh SQLite file, tasks on a cluster
    TMP = setup("bench-name", sync=True)   # tasks run inline in the calling process
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def setup(name: str, *, settings_module: str = "config.settings_test", sync: bool = False) -> Path:
    """Configure Django for a benchmark and return its temporary folder.

    DATABASE_URL is kept when set (to measure on PostgreSQL), else a fresh SQLite file is used.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ["Q_SYNC"] = "true" if sync else "false"
    import django

    django.setup()
    return tmp


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def point_app_at(server) -> None:
    """Send the app's API calls to a running simulator (topups.oneclick.simulator.testing)."""
    from django.conf import settings

    from topups.services import account

    settings.ONECLICKDZ_API_URL = server.url
    account.reset_client()


def write_json(name: str, data: dict) -> Path:
    import json

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path
