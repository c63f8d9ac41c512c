"""The pure parts of the SCIM benchmark (bench/scim_report.py): percentiles, ratios to
the reference, and the issue's targets judged on figures given here (no servers)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2] / "bench"))

from scim_report import (
    GROUP_OPS,
    REFERENCE,
    USER_OPS,
    Figures,
    Key,
    percentile,
    ratio,
    table,
    targets,
    verdict_table,
)


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 100 .. 1, unsorted on purpose
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile(values, 0) == 1
    assert percentile([0.25, 0.5, 9.0], 99) == 9.0  # always a measured value
    assert percentile([7.0], 50) == 7.0
    assert math.isnan(percentile([], 50))


def test_figures_of_latencies() -> None:
    f = Figures.of([0.001] * 98 + [0.010, 0.050], errors=3, seconds=4.0)
    assert f.ok == 100 and f.errors == 3
    assert f.rps == 25.0
    assert f.p50_ms == 1.0
    assert f.p99_ms == 10.0


def _fig(rps: float, p99_ms: float = 5.0) -> Figures:
    return Figures(ok=int(rps * 10), errors=0, seconds=10.0, p50_ms=1.0, p99_ms=p99_ms)


def _results(connector_rps: float, lookup_p99: float) -> dict[Key, Figures]:
    results: dict[Key, Figures] = {}
    for size in (2000, 100000):
        for op in USER_OPS:
            results[(REFERENCE, size, op)] = _fig(100)
            results[("serve", size, op)] = _fig(
                connector_rps * (25 if op == "page100" else 1),
                lookup_p99 if op == "lookup" else 5.0,
            )
        for op in GROUP_OPS:
            results[("serve", size, op)] = _fig(250, 40.0)
    results[("serve", 100000, "lookup")] = _fig(300, lookup_p99)
    return results


def test_ratio_to_the_reference() -> None:
    results = _results(150, 10.0)
    assert ratio(results, "serve", 2000, "create") == 1.5
    assert ratio(results, "serve", 100000, "lookup") == 3.0
    assert math.isnan(ratio(results, "serve", 100000, "member-add"))  # no reference figure
    assert math.isnan(ratio(results, "serve", 5, "create"))


def test_every_target_passes_on_good_figures() -> None:
    verdicts = targets(
        _results(150, 10.0), {"serve": _fig(100, 80.0)}, ["reference", "serve"], 2000, 100000
    )
    assert [v.word for v in verdicts] == ["PASS"] * len(verdicts)
    # 8 ratio targets, 8 flatness targets, 2 group targets, 1 mixed-load target
    assert len(verdicts) == 19


def test_targets_fail_on_bad_figures_and_say_why() -> None:
    results = _results(150, 25.0)  # lookup fast enough, but its p99 too slow
    results[("serve", 100000, "create")] = _fig(100)  # 1.0x the reference, but 0.67x of 2,000
    results[("serve", 100000, "member-add")] = _fig(250, 60.0)
    verdicts = {v.target: v for v in targets(results, {}, ["reference", "serve"], 2000, 100000)}
    lookup = verdicts["lookup >= 2.0x ref, p99 < 20 ms"]
    assert lookup.word == "FAIL" and "p99 25.0 ms" in lookup.measured
    assert verdicts["create >= 1.0x ref"].word == "PASS"
    flat = verdicts["create: 100,000 >= 0.8x of 2,000"]
    assert flat.word == "FAIL" and "0.67x" in flat.measured
    assert verdicts["group member-add >= 200/s, p99 < 50 ms"].word == "FAIL"
    assert verdicts["group member-remove >= 200/s, p99 < 50 ms"].word == "PASS"
    assert verdicts["PATCH p99 < 100 ms during resync"].word == "n/a"  # not measured


def test_tables_name_servers_ratios_and_verdicts() -> None:
    results = _results(150, 10.0)
    text = table(results, [REFERENCE, "serve"], [2000, 100000])
    create_line = next(line for line in text.splitlines() if "2000 create" in line)
    assert create_line.split("|")[-1].strip() == "1.50"
    assert "member-add" in text
    verdicts = targets(results, {}, [REFERENCE, "serve"], 2000, 100000)
    assert "n/a" in verdict_table(verdicts)


def test_profiled_time_is_added_up_by_component() -> None:
    from scim_report import component, component_table, components

    site = "/venv/lib/python3.11/site-packages"
    assert component(f"{site}/sqlalchemy/orm/session.py", "get") == "SQLAlchemy ORM"
    assert component(f"{site}/sqlalchemy/engine/base.py", "execute") == (
        "SQLAlchemy Core and engine"
    )
    assert component("~", "<method 'execute' of 'sqlite3.Cursor' objects>") == (
        "SQLite (C library)"
    )
    assert component("/src/connector/services/users.py", "create") == "connector: services"
    assert component("/src/scim/patch.py", "apply_patch") == "scim: protocol"
    assert component("/usr/lib/python3.11/re/__init__.py", "match") == (
        "Python standard library and other"
    )
    parts = components(
        [
            (f"{site}/sqlalchemy/orm/unitofwork.py", "execute", 0.003),
            (f"{site}/sqlalchemy/orm/session.py", "get", 0.001),
            (f"{site}/flask/app.py", "wsgi_app", 0.002),
        ]
    )
    assert parts == [("SQLAlchemy ORM", 0.004), ("Flask and werkzeug", 0.002)]
    text = component_table({"create": (2, parts)})
    assert "create: 2 requests, 3.00 ms each" in text
    assert "SQLAlchemy ORM" in text and "66.7%" in text
