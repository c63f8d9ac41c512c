"""axe-core on every page and dialog of the console: no serious or critical violation.

axe-core comes with selenium-axe-python (the test extra); it is injected into
the page by WebDriver, so the pages' Content-Security-Policy stays as served.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.console_states import PAGES, STATES
from tests.e2e.seeded_site import Site

BLOCKING = ("serious", "critical")


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; its violations of every impact."""
    from selenium_axe_python import Axe

    axe = Axe(driver)
    axe.inject()
    results = axe.run(options={"resultTypes": ["violations"]})
    return list(results["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("state", list(STATES))
def test_no_serious_accessibility_violation(site: Site, state: str) -> None:
    site.set_width(1400)
    expected = STATES[state](site)
    assert site.all(expected), f"{state}: '{expected}' is not on the page"
    blocking = [v for v in axe_violations(site.driver) if v["impact"] in BLOCKING]
    assert not blocking, f"axe-core on {state}:\n{describe(blocking)}"


@pytest.mark.parametrize("state", PAGES)
def test_no_serious_accessibility_violation_at_800_px(site: Site, state: str) -> None:
    """Narrow, tables scroll inside their box: that box must then be reachable (and named)."""
    site.set_width(800)
    expected = STATES[state](site)
    assert site.all(expected), f"{state}: '{expected}' is not on the page"
    site.wait(
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('.table-wrap')].every("
            "(b) => b.scrollWidth <= b.clientWidth + 1 || b.tabIndex === 0)"
        )
    )
    blocking = [v for v in axe_violations(site.driver) if v["impact"] in BLOCKING]
    assert not blocking, f"axe-core on {state} at 800 px:\n{describe(blocking)}"


def test_the_check_sees_a_violation_planted_in_a_console_page(site: Site) -> None:
    """axe-core really runs inside the console's pages (CSP and all): a nameless button is found."""
    STATES["users"](site)
    site.driver.execute_script(
        "const b = document.createElement('button'); b.id = 'planted';"
        "document.querySelector('main').append(b);"
    )
    found = {v["id"]: v for v in axe_violations(site.driver)}
    assert "button-name" in found and found["button-name"]["impact"] in BLOCKING
    assert any("#planted" in node["target"] for node in found["button-name"]["nodes"])
    assert "#planted" in describe(list(found.values()))
