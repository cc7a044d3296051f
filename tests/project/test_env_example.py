"""Every variable the settings read is documented in .env.example."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_documents_every_setting_variable():
    settings_source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\("([A-Z0-9_]+)"', settings_source))
    documented = (ROOT / ".env.example").read_text()
    assert read and sorted(name for name in read if name not in documented) == []
