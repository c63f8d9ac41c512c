"""audit.ACTIONS is exactly the set of actions the code records.

The console's audit filter offers audit.ACTIONS, so an action recorded but not
listed cannot be picked there (as ``ldap.run`` once could not). The actions are
read from the source: every ``audit.record(...)`` / ``audit.event(...)`` call,
its ``action`` argument followed back through the callers of the function that
passes it on (``mappings._save(..., "mapping.save")``); an action built at run
time must be named in COMPUTED with the values it takes.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from pathlib import Path

import pytest

import connector
from connector.services import audit, jobs

ROOT = Path(connector.__file__).resolve().parent
AUDIT_MODULE = "connector.services.audit"
EVENT_ACTION = list(inspect.signature(audit.event).parameters).index("action")
# audit.record(session, ...) passes the rest on to audit.event(...).
ACTION_POSITION = {"event": EVENT_ACTION, "record": EVENT_ACTION + 1}

# Actions built at run time: the source text of the expression -> the values it takes.
COMPUTED: dict[str, set[str]] = {
    "f'job.{kind}'": {f"job.{kind}" for kind in (jobs.RESYNC, jobs.SYNC_ALL)},
}


@dataclass(frozen=True)
class Site:
    """A place where an action expression is handed over, for the failure messages."""

    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT.parent)}:{self.line}"


class Source:
    """The parsed modules of connector/ with, for each call, its enclosing function."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, ast.Call, ast.FunctionDef | None]] = []
        self.recorders: list[tuple[Path, ast.Call, ast.FunctionDef | None, str]] = []
        for path in sorted(ROOT.rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            imported = {
                alias.asname or alias.name: alias.name
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == AUDIT_MODULE
                for alias in node.names
            }
            self._walk(path, tree, None, imported)

    def _walk(
        self, path: Path, node: ast.AST, func: ast.FunctionDef | None, imported: dict[str, str]
    ) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef) else func
            if isinstance(child, ast.Call):
                self.calls.append((path, child, func))
                name = _recorder(child, imported)
                if name is not None:
                    self.recorders.append((path, child, func, name))
            self._walk(path, child, inner, imported)

    def callers(self, name: str) -> list[tuple[Path, ast.Call, ast.FunctionDef | None]]:
        def called(call: ast.Call) -> str | None:
            if isinstance(call.func, ast.Name):
                return call.func.id
            if isinstance(call.func, ast.Attribute):
                return call.func.attr
            return None

        return [(p, c, f) for p, c, f in self.calls if called(c) == name]


def _recorder(call: ast.Call, imported: dict[str, str]) -> str | None:
    """ "record" or "event" when the call writes an audit event, else None."""
    func = call.func
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "audit"
        and func.attr in ACTION_POSITION
    ):
        return func.attr
    if isinstance(func, ast.Name) and imported.get(func.id) in ACTION_POSITION:
        return imported[func.id]
    return None


def _argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if position < len(call.args) and not any(
        isinstance(a, ast.Starred) for a in call.args[: position + 1]
    ):
        return call.args[position]
    return None


def _resolve(
    source: Source, expr: ast.expr | None, func: ast.FunctionDef | None, site: Site, depth: int = 0
) -> set[str]:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.JoinedStr):
        text = ast.unparse(expr)
        if text not in COMPUTED:
            pytest.fail(f"{site}: action {text} is built at run time; list its values in COMPUTED")
        return COMPUTED[text]
    if isinstance(expr, ast.Name) and func is not None and depth < 3:
        params = [a.arg for a in func.args.args]
        if expr.id in params:
            found: set[str] = set()
            callers = source.callers(func.name)
            for path, call, outer in callers:
                passed = _argument(call, params.index(expr.id), expr.id)
                found |= _resolve(source, passed, outer, Site(path, call.lineno), depth + 1)
            if found:
                return found
    shown = ast.unparse(expr) if expr is not None else "(none)"
    pytest.fail(f"{site}: cannot tell which action {shown} is; pass a literal or extend COMPUTED")


@pytest.fixture(scope="module")
def recorded() -> dict[str, list[str]]:
    """Each recorded action -> where it is recorded."""
    source = Source()
    assert source.recorders, "no audit.record/audit.event call found under connector/"
    where: dict[str, list[str]] = {}
    for path, call, func, name in source.recorders:
        site = Site(path, call.lineno)
        expr = _argument(call, ACTION_POSITION[name], "action")
        for action in _resolve(source, expr, func, site):
            where.setdefault(action, []).append(str(site))
    return where


def test_every_recorded_action_is_listed(recorded: dict[str, list[str]]) -> None:
    unlisted = {a: sites for a, sites in recorded.items() if a not in audit.ACTIONS}
    assert not unlisted, f"recorded but missing from audit.ACTIONS: {unlisted}"


def test_every_listed_action_is_recorded_once_in_the_list(recorded: dict[str, list[str]]) -> None:
    assert len(set(audit.ACTIONS)) == len(audit.ACTIONS)
    assert set(audit.ACTIONS) - set(recorded) == set()


def test_actions_passed_through_a_helper_and_built_at_run_time_are_found(
    recorded: dict[str, list[str]],
) -> None:
    assert {"mapping.save", "mapping.clear", "mapping.reset"} <= set(recorded)
    assert {"job.resync_contacts", "job.sync_users"} <= set(recorded)
    assert {"ldap.run", "ldap.confirm"} <= set(recorded)
