"""The pure parts of bench/scim.py: percentiles, figures per phase, the tables and
the targets of the SCIM performance issue, judged on measured figures.

No I/O here (beyond returning text), so tests/unit/test_bench_scim_report.py can
check it without servers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

REFERENCE = "reference"

# The operations in the order they are measured and printed; each name is a phase.
USER_OPS = (
    "create",
    "lookup",
    "get",
    "patch-path",
    "patch-value",
    "put",
    "page100",
    "delete",
)
GROUP_OPS = ("member-add", "member-remove")
OPS = USER_OPS + GROUP_OPS

# Minimum ratio to the reference at the largest size, per operation (the targets).
RATIO_TARGETS = {
    "lookup": 2.0,
    "create": 1.0,
    "get": 1.0,
    "patch-path": 1.0,
    "patch-value": 1.0,
    "put": 1.0,
    "page100": 20.0,
    "delete": 0.5,
}
LOOKUP_P99_MS = 20.0
FLAT_RATIO = 0.8  # each operation at the largest size against its own figure at the smallest
GROUP_RPS = 200.0
GROUP_P99_MS = 50.0
MIXED_PATCH_P99_MS = 100.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of ``values`` by nearest rank; NaN when empty.

    Nearest rank (the smallest value with at least q% of the values at or below
    it) so that a p99 is always a latency that was measured.
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Figures:
    """One phase: answered requests, errors, elapsed seconds, latencies in seconds."""

    ok: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else math.nan

    @classmethod
    def of(cls, latencies: Sequence[float], errors: int, seconds: float) -> Figures:
        return cls(
            ok=len(latencies),
            errors=errors,
            seconds=seconds,
            p50_ms=percentile(latencies, 50) * 1000,
            p99_ms=percentile(latencies, 99) * 1000,
        )


Key = tuple[str, int, str]  # (server, stored users, operation)


def ratio(results: dict[Key, Figures], server: str, size: int, op: str) -> float:
    """The server's requests/s over the reference's at the same size and operation."""
    mine, ref = results.get((server, size, op)), results.get((REFERENCE, size, op))
    if mine is None or ref is None or not ref.rps or math.isnan(ref.rps):
        return math.nan
    return mine.rps / ref.rps


def _num(value: float, digits: int = 0) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def table(results: dict[Key, Figures], servers: Sequence[str], sizes: Iterable[int]) -> str:
    """One line per size and operation: requests/s, p50 and p99 (ms) per server, and each
    connector server's ratio to the reference."""
    connectors = [s for s in servers if s != REFERENCE]
    head = f"{'users':>7} {'operation':<13}"
    for server in servers:
        head += f" | {server[:10]:>10} {'p50':>6} {'p99':>7}"
    for server in connectors:
        head += f" | {'x ' + server[:8]:>10}"
    lines = [head, "-" * len(head)]
    for size in sizes:
        for op in OPS:
            if not any((s, size, op) in results for s in servers):
                continue
            line = f"{size:>7} {op:<13}"
            for server in servers:
                f = results.get((server, size, op))
                if f is None:
                    line += f" | {'-':>10} {'-':>6} {'-':>7}"
                else:
                    errs = f"!{f.errors}" if f.errors else ""
                    line += (
                        f" | {_num(f.rps) + errs:>10} {_num(f.p50_ms, 1):>6} {_num(f.p99_ms, 1):>7}"
                    )
            for server in connectors:
                line += f" | {_num(ratio(results, server, size, op), 2):>10}"
            lines.append(line)
    return "\n".join(lines)


@dataclass(frozen=True)
class Verdict:
    server: str
    target: str
    measured: str
    passed: bool | None  # None: not measured

    @property
    def word(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


def _check(ok: bool, *values: float) -> bool | None:
    return None if any(v is None or math.isnan(v) for v in values) else ok


def targets(
    results: dict[Key, Figures],
    mixed: dict[str, Figures],
    servers: Sequence[str],
    small: int,
    large: int,
) -> list[Verdict]:
    """Every "Done when" target of the issue, per connector server, on measured figures.

    ``large`` stands for the issue's 100,000 users and ``small`` for its 2,000;
    ``mixed`` holds each server's PATCH figures while "Update all synchronized
    users" ran.
    """
    out: list[Verdict] = []
    for server in (s for s in servers if s != REFERENCE):
        for op, minimum in RATIO_TARGETS.items():
            r = ratio(results, server, large, op)
            text = f"{op} at {large:,}: {_num(r, 2)}x the reference"
            ok = r >= minimum
            if op == "lookup":
                f = results.get((server, large, op))
                p99 = f.p99_ms if f else math.nan
                text += f", p99 {_num(p99, 1)} ms"
                out.append(
                    Verdict(
                        server,
                        f"lookup >= {minimum}x ref, p99 < {LOOKUP_P99_MS:.0f} ms",
                        text,
                        _check(ok and p99 < LOOKUP_P99_MS, r, p99),
                    )
                )
            else:
                out.append(Verdict(server, f"{op} >= {minimum}x ref", text, _check(ok, r)))
        if small != large:
            for op in USER_OPS:
                a, b = results.get((server, small, op)), results.get((server, large, op))
                flat = b.rps / a.rps if a and b and a.rps else math.nan
                out.append(
                    Verdict(
                        server,
                        f"{op}: {large:,} >= {FLAT_RATIO}x of {small:,}",
                        f"{_num(b.rps if b else math.nan)} / {_num(a.rps if a else math.nan)}"
                        f" = {_num(flat, 2)}x",
                        _check(flat >= FLAT_RATIO, flat),
                    )
                )
        for op in GROUP_OPS:
            f = results.get((server, large, op))
            rps, p99 = (f.rps, f.p99_ms) if f else (math.nan, math.nan)
            out.append(
                Verdict(
                    server,
                    f"group {op} >= {GROUP_RPS:.0f}/s, p99 < {GROUP_P99_MS:.0f} ms",
                    f"{_num(rps)}/s, p99 {_num(p99, 1)} ms",
                    _check(rps >= GROUP_RPS and p99 < GROUP_P99_MS, rps, p99),
                )
            )
        m = mixed.get(server)
        p99 = m.p99_ms if m else math.nan
        out.append(
            Verdict(
                server,
                f"PATCH p99 < {MIXED_PATCH_P99_MS:.0f} ms during resync",
                f"p99 {_num(p99, 1)} ms, p50 {_num(m.p50_ms if m else math.nan, 1)} ms",
                _check(p99 < MIXED_PATCH_P99_MS, p99),
            )
        )
    return out


def verdict_table(verdicts: Sequence[Verdict]) -> str:
    width = max((len(v.target) for v in verdicts), default=10)
    lines = [f"{'server':<11} {'target':<{width}}  {'verdict':<7} measured"]
    lines += [f"{v.server:<11} {v.target:<{width}}  {v.word:<7} {v.measured}" for v in verdicts]
    return "\n".join(lines)


# ------------------------------------------------------------------ where the time goes

# A profiled function's file → the part of the stack it belongs to (first match wins).
COMPONENTS = (
    ("/sqlalchemy/orm/", "SQLAlchemy ORM"),
    ("/sqlalchemy/", "SQLAlchemy Core and engine"),
    ("/psycopg", "psycopg (PostgreSQL driver)"),
    ("/werkzeug/", "Flask and werkzeug"),
    ("/flask/", "Flask and werkzeug"),
    ("/waitress/", "waitress"),
    ("/connector/web/", "connector: web entry points"),
    ("/connector/services/", "connector: services"),
    ("/connector/queries/", "connector: queries"),
    ("/connector/scim_store/", "connector: SCIM store"),
    ("/connector/", "connector: other"),
    ("/scim/", "scim: protocol"),
    ("/json/", "json"),
)
# Built-in functions (cProfile files them under "~") named by what they do.
BUILTIN_COMPONENTS = (
    ("sqlite3.", "SQLite (C library)"),
    ("'commit' of 'sqlite3", "SQLite (C library)"),
    ("json", "json"),
)


def component(filename: str, function: str) -> str:
    """The part of the stack a profiled function belongs to (see COMPONENTS)."""
    if filename == "~":
        for needle, name in BUILTIN_COMPONENTS:
            if needle in function:
                return name
        return "Python built-ins"
    for needle, name in COMPONENTS:
        if needle in filename:
            return name
    return "Python standard library and other"


def components(own_times: Iterable[tuple[str, str, float]]) -> list[tuple[str, float]]:
    """Own time (seconds) per component, largest first, from (file, function, own time)."""
    totals: dict[str, float] = {}
    for filename, function, seconds in own_times:
        name = component(filename, function)
        totals[name] = totals.get(name, 0.0) + seconds
    return sorted(totals.items(), key=lambda item: -item[1])


def component_table(per_op: dict[str, tuple[int, list[tuple[str, float]]]]) -> str:
    """Per operation (requests, components): CPU per request by component, in ms and %."""
    lines = []
    for op, (requests, parts) in per_op.items():
        total = sum(seconds for _, seconds in parts)
        lines.append(f"{op}: {requests:,} requests, {1000 * total / max(requests, 1):.2f} ms each")
        for name, seconds in parts:
            share = 100 * seconds / total if total else 0.0
            lines.append(
                f"    {name:32s} {1000 * seconds / max(requests, 1):7.3f} ms  {share:5.1f}%"
            )
    return "\n".join(lines)
