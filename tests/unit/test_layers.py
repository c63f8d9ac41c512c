"""The arrows of ARCHITECTURE.md, checked on the source: entry points → services →
building blocks, never back.

Why a test: a Flask import in a service, or a query in a route, works the day it
is written and makes the next rule live twice; this fails on that day instead.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Below the entry points: nothing knows the web framework.
FRAMEWORK_FREE = [
    "scim",
    "connector/services",
    "connector/ldap",
    "connector/queries",
    "connector/scim_store",
    "connector/db",
]
# The one module of scim/ that is the framework adapter.
ADAPTERS = {"scim/flask_adapter.py"}


def _modules(folder: str) -> Iterator[Path]:
    yield from sorted((ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("folder", FRAMEWORK_FREE)
def test_nothing_below_the_entry_points_imports_flask(folder: str) -> None:
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules(folder)
        if str(path.relative_to(ROOT)) not in ADAPTERS
        for name in _imports(path)
        if _top(name) == "flask"
    ]
    assert found == []


def test_the_web_entry_points_build_no_sql() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules("connector/web")
        for name in _imports(path)
        if _top(name) == "sqlalchemy" or name.startswith("connector.queries")
    ]
    assert found == []


def test_the_scim_protocol_imports_nothing_of_the_connector() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules("scim")
        for name in _imports(path)
        if _top(name) == "connector"
    ]
    assert found == []


def test_services_do_not_reach_up_into_entry_points() -> None:
    entry_points = ("connector.web", "connector.cli", "connector.scheduler", "connector.startup")
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for folder in ("connector/services", "connector/queries", "connector/db")
        for path in _modules(folder)
        for name in _imports(path)
        if name.startswith(entry_points)
    ]
    assert found == []
