"""Lower layers never import higher ones: a service never imports a view, a form, the admin, a
template tag or the middleware, a selector (a read) never imports a service, and the API client
(topups/oneclick/) and its simulator (topups/simulator/) stand apart: no Django, nothing of the app,
not each other. The imports are read from the source with ``ast``, lazy ones inside functions
included, so an edge is refused the day it is written, not when someone draws the graph again."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TOPUPS = Path(__file__).resolve().parents[2] / "topups"

# A product line's web half (its counter and its forms) is web too.
WEB = re.compile(r"^topups\.((views|forms|admin|middleware|templatetags)|lines\.\w+\.(counter|forms))(\.|$)")
SERVICES = re.compile(r"^topups\.services(\.|$)")
OUTSIDE_CLIENT = re.compile(r"^(django|topups(?!\.oneclick(\.|$)))(\.|$)")
OUTSIDE_SIMULATOR = re.compile(r"^(django|topups(?!\.simulator(\.|$)))(\.|$)")


def module_name(path: Path) -> str:
    parts = path.relative_to(TOPUPS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, *, package: bool = False) -> list[tuple[int, str]]:
    """(line, module) of every import in ``source``, relative ones resolved against ``module``;
    ``from a import b`` counts as ``a.b`` too, for ``b`` may be a module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: len(module.split(".")) - node.level + (1 if package else 0)]
                base = ".".join([*parent, base] if base else parent)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def offenders(modules: list[Path], forbidden: re.Pattern) -> list[str]:
    """"path:line imports module" for each import line of ``modules`` that names a forbidden module."""
    found: dict[str, str] = {}
    for path in modules:
        for line, name in imports(path.read_text(), module_name(path), package=path.name == "__init__.py"):
            if forbidden.match(name):
                found.setdefault(f"{path.relative_to(TOPUPS.parent)}:{line}", name)
    return [f"{where} imports {name}" for where, name in found.items()]


def services_modules() -> list[Path]:
    return sorted((TOPUPS / "services").rglob("*.py"))


def selectors_modules() -> list[Path]:
    return sorted((TOPUPS / "selectors").rglob("*.py"))


def test_services_never_import_the_web_layer():
    assert services_modules()
    assert offenders(services_modules(), WEB) == []


def test_selectors_never_import_services():
    assert selectors_modules()
    assert offenders(selectors_modules(), SERVICES) == []


@pytest.mark.parametrize(("package", "outside"), [("oneclick", OUTSIDE_CLIENT), ("simulator", OUTSIDE_SIMULATOR)])
def test_the_client_and_the_simulator_import_only_themselves(package, outside):
    modules = sorted((TOPUPS / package).rglob("*.py"))
    assert modules
    assert offenders(modules, outside) == []


@pytest.mark.parametrize(("name", "outside", "edge"), [
    ("django.conf", OUTSIDE_CLIENT, True),
    ("topups.models", OUTSIDE_CLIENT, True),
    ("topups.simulator.testing", OUTSIDE_CLIENT, True),
    ("topups.oneclicker", OUTSIDE_CLIENT, True),
    ("topups.oneclick.errors", OUTSIDE_CLIENT, False),
    ("topups.oneclick.errors", OUTSIDE_SIMULATOR, True),
    ("topups.simulator", OUTSIDE_SIMULATOR, False),
    ("requests", OUTSIDE_CLIENT, False),
])
def test_what_lies_outside_the_client_and_the_simulator(name, outside, edge):
    assert bool(outside.match(name)) is edge


@pytest.mark.parametrize(("source", "module", "edge"), [
    ("from topups.middleware import client_ip", "topups.services.audit", True),
    ("import topups.views.orders", "topups.services.orders", True),
    ("import topups.lines.mobile.counter", "topups.services.orders", True),
    ("from topups.lines.internet import forms", "topups.services.orders", True),
    ("from topups.lines.internet import catalog", "topups.services.orders", False),
    ("from topups.forms import books", "topups.services.pricing", True),
    ("def later():\n    from ..templatetags import dashboard", "topups.services.receipts", True),
    ("from topups.http import client_ip", "topups.services.audit", False),
    ("from topups import selectors, models", "topups.services.batches", False),
])
def test_an_import_of_the_web_layer_is_seen_in_every_form_it_takes(source, module, edge):
    """Absolute, relative, ``from topups import x`` and lazy imports inside a function alike."""
    assert any(WEB.match(name) for _line, name in imports(source, module)) is edge
