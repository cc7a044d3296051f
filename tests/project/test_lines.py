"""Product lines are plug-ins: outside ``topups/lines/`` no code names a line. A line's code (its
``Order.service``: internet, mobile, ...) written as a string, ``is_mobile``-style flags or a
``Service`` enum in shared Python, templates or scripts would be a branch on the service that the
next line must find and extend; the registry (``topups.lines``) is asked instead.

Left out: ``topups/oneclick/`` and ``topups/simulator/``, the API's client and its stand-in, which
speak the API's own products (/internet, /mobile, /gift-cards) by nature; migrations (history)."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = [ROOT / "topups", ROOT / "templates", ROOT / "static"]
LEFT_OUT = ("topups/lines/", "topups/oneclick/", "topups/simulator/", "topups/migrations/")
# The codes of the lines we ship and of those we know are coming, and the old flags and enum.
CODES = ("internet", "mobile", "giftcard", "giftcards", "gift", "flexy")
FLAG = re.compile(r"\bis_(internet|mobile|flexy|gift\w*)\b|\bService\.[A-Z]+\b")
TEMPLATE_CODE = re.compile("[\"'](" + "|".join(CODES) + ")[\"']")


def branches_in_python(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string literal that is exactly a line's code, and each flag."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.STRING:
            text = token.string.lstrip("rbuRBUfF")
            if text[:1] in "'\"" and text.strip("'\"") in CODES and not text.startswith(('"""', "'''")):
                found.append((token.start[0], token.line.strip()))
        elif token.type == tokenize.NAME and FLAG.match(token.string):
            found.append((token.start[0], token.line.strip()))
    found += [(n, line.strip()) for n, line in enumerate(source.splitlines(), 1) if re.search(r"\bService\.[A-Z]+", line)]
    return found


def branches_in_template(source: str) -> list[tuple[int, str]]:
    return [(n, line.strip()) for n, line in enumerate(source.splitlines(), 1)
            if TEMPLATE_CODE.search(line) or FLAG.search(line)]


def shared_branches() -> list[str]:
    found = []
    for folder in SHARED:
        for path in sorted(folder.rglob("*")):
            where = path.relative_to(ROOT).as_posix()
            if not path.is_file() or where.startswith(LEFT_OUT) or "__pycache__" in where:
                continue
            if path.suffix == ".py":
                hits = branches_in_python(path.read_text())
            elif path.suffix in (".html", ".js", ".txt"):
                hits = branches_in_template(path.read_text())
            else:
                continue
            found += [f"{where}:{line}: {text}" for line, text in hits]
    return found


def test_no_shared_code_names_a_product_line():
    assert shared_branches() == []


@pytest.mark.parametrize(("source", "found"), [
    ('if order.service == "mobile":\n    pass\n', 1),
    ("kind = 'internet'\n", 1),
    ("if order.is_mobile:\n    pass\n", 1),
    ("service = Service.MOBILE\n", 1),
    ('"""Internet cards and mobile top-ups."""\n', 0),
    ("# a mobile top-up\nx = 'mobile top-up'\n", 0),
    ("line = lines.of(order)\n", 0),
])
def test_a_branch_is_seen_in_python(source, found):
    assert len(branches_in_python(source)) == found


@pytest.mark.parametrize(("source", "found"), [
    ('{% if order.service == "mobile" %}', 1),
    ("{% if order.is_mobile %}", 1),
    ("{% include order.line.templates.outcome %}", 0),
])
def test_a_branch_is_seen_in_a_template(source, found):
    assert len(branches_in_template(source)) == found
