"""Screenshots of every console page and dialog, from the real app, under docs/screenshots/.

The README shows them, so they are taken again on every run (1,400 px wide, the
whole page) and a page that did not render fails here instead of leaving a
stale or blank picture: each state names the element it must show, and no error
message may be on screen except on the failed sign-in.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.console_states import STATES
from tests.e2e.seeded_site import Site

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTH, MIN_HEIGHT, MAX_HEIGHT = 1400, 900, 2000
ERRORS_EXPECTED = {"login-failed"}


@pytest.mark.parametrize("state", list(STATES))
def test_screenshot(site: Site, state: str) -> None:
    site.set_width(WIDTH, MIN_HEIGHT)
    expected = STATES[state](site)
    shown = [e for e in site.all(expected) if e.is_displayed()]
    assert shown, f"{state}: '{expected}' is not shown: the page did not render"
    errors = [
        e.text for e in site.all(".error, [role=alert]") if e.is_displayed() and e.text.strip()
    ]
    if state not in ERRORS_EXPECTED:
        assert not errors, f"{state} shows an error: {errors}"
    # The whole page in one picture; a dialog stays centred in what is then the window.
    if not site.all("dialog[open]"):
        _fit_height(site)
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / f"{state}.png"
    assert site.driver.save_screenshot(str(target)), f"no screenshot of {state}"
    assert target.stat().st_size > 10_000, f"{target} is nearly empty"


def _fit_height(site: Site) -> None:
    """Make the window as tall as the page (within MAX_HEIGHT), so nothing scrolls."""
    for _ in range(3):
        page, inner = site.driver.execute_script(
            "return [document.documentElement.scrollHeight, window.innerHeight]"
        )
        if page <= inner or inner >= MAX_HEIGHT:
            return
        outer = site.driver.get_window_size()["height"]
        site.set_width(WIDTH, min(MAX_HEIGHT + outer - inner, outer + page - inner))


def test_the_readme_shows_or_lists_every_screenshot() -> None:
    readme = (SHOTS.parents[1] / "README.md").read_text()
    missing = [name for name in STATES if f"{name}.png" not in readme]
    assert not missing, f"README's Screenshots section does not mention: {missing}"
