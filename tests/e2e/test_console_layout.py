"""The console at 800 px and with the keyboard only.

Every page and dialog fits an 800 px window (wide tables scroll inside their own
box, which the keyboard can then reach); dialogs keep Tab inside, close on
Escape and give focus back to what opened them; the focus ring can be seen.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec

from tests.e2e import console_states as states
from tests.e2e.seeded_site import Site

NARROW = 800


def _active(site: Site) -> Any:
    return site.driver.switch_to.active_element


def _press(site: Site, *keys: str) -> None:
    ActionChains(site.driver).send_keys(*keys).perform()


def _overflow(site: Site) -> tuple[int, int]:
    width, inner = site.driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    return int(width), int(inner)


@pytest.mark.parametrize("state", list(states.STATES))
def test_no_horizontal_overflow_at_800_px(site: Site, state: str) -> None:
    site.set_width(NARROW)
    states.STATES[state](site)
    width, inner = _overflow(site)
    assert width <= inner, f"{state} is {width} px wide in a {inner} px window"


def test_a_page_made_narrower_after_loading_still_fits(site: Site) -> None:
    """The run chart (drawn for its width at load time) follows a narrower window."""
    site.set_width(1400)
    states.sources(site)
    site.set_width(NARROW)
    site.wait(lambda d: _overflow(site)[0] <= _overflow(site)[1])


def test_a_wide_table_scrolls_in_its_box_which_the_keyboard_reaches(site: Site) -> None:
    site.set_width(NARROW)
    states.users(site)
    box = site.css("#users-table").find_element(By.XPATH, "..")
    assert "table-wrap" in box.get_attribute("class")
    site.wait(lambda d: box.get_attribute("tabindex") == "0")
    assert box.get_attribute("role") == "region"
    assert "scrolls sideways" in box.get_attribute("aria-label")
    scrolls = "return arguments[0].scrollWidth > arguments[0].clientWidth"
    assert site.driver.execute_script(scrolls, box)
    site.set_width(1400)  # everything fits again: no extra tab stop
    site.wait(lambda d: box.get_attribute("tabindex") is None)


def _open_user_by_enter(site: Site) -> Any:
    states.users(site)
    row = site.row_of("#users-table", "ada@example.com")
    row.click()
    row.send_keys(Keys.ENTER)
    site.visible("#user-dialog")
    return row


def _open_create_user(site: Site) -> Any:
    site.open("/admin/users")
    button = site.css("#create-user")
    button.send_keys(Keys.ENTER)
    site.visible("#user-dialog")
    return button


def _open_contact_edit(site: Site) -> Any:
    states.contacts(site)
    button = site.row_of("#contacts-table", "Babbage").find_element(By.CSS_SELECTOR, "button.edit")
    button.send_keys(Keys.ENTER)
    site.visible("#contact-dialog")
    return button


def _open_create_contact(site: Site) -> Any:
    states.contacts(site)
    button = site.css("#create-contact")
    button.send_keys(Keys.ENTER)
    site.visible("#contact-dialog")
    return button


OPENERS: dict[str, tuple[Callable[[Site], Any], str]] = {
    "user-row": (_open_user_by_enter, "user-dialog"),
    "create-user": (_open_create_user, "user-dialog"),
    "contact-edit": (_open_contact_edit, "contact-dialog"),
    "create-contact": (_open_create_contact, "contact-dialog"),
}


@pytest.mark.parametrize("opener", list(OPENERS))
def test_escape_closes_a_dialog_and_focus_returns_to_its_opener(site: Site, opener: str) -> None:
    site.set_width(1400)
    open_it, dialog_id = OPENERS[opener]
    control = open_it(site)
    dialog = site.css(f"#{dialog_id}")
    assert dialog.get_attribute("open") is not None
    inside = "return arguments[0].contains(document.activeElement)"
    assert site.driver.execute_script(inside, dialog)
    _press(site, Keys.ESCAPE)
    site.wait(lambda d: dialog.get_attribute("open") is None)
    assert _active(site) == control


@pytest.mark.parametrize("opener", list(OPENERS))
def test_tab_and_shift_tab_go_round_inside_a_dialog(site: Site, opener: str) -> None:
    site.set_width(1400)
    open_it, dialog_id = OPENERS[opener]
    open_it(site)
    dialog = site.css(f"#{dialog_id}")
    inside = "return arguments[0].contains(document.activeElement)"
    first = _active(site)
    for _ in range(40):  # more than the dialog's controls: it must wrap, never leave
        _press(site, Keys.TAB)
        assert site.driver.execute_script(inside, dialog), "Tab left the dialog"
        if _active(site) == first:
            break
    else:
        pytest.fail("Tab never came back to the dialog's first control")
    _press(site, Keys.SHIFT, Keys.TAB)
    assert site.driver.execute_script(inside, dialog), "Shift-Tab left the dialog"
    _press(site, Keys.ESCAPE)


def test_saving_a_contact_gives_focus_back_to_its_row(site: Site) -> None:
    site.set_width(1400)
    opener = _open_contact_edit(site)
    site.css("#contact-save").send_keys(Keys.ENTER)
    site.wait(ec.staleness_of(opener))  # the table was drawn again after the save
    site.wait(lambda d: _active(site).get_attribute("aria-label") == "Edit Charles Babbage")


def test_keeping_a_contact_gives_focus_back_to_its_delete_button(site: Site) -> None:
    site.set_width(1400)
    states.contact_delete_confirm(site)
    keep = site.driver.find_element(
        By.XPATH, "//table[@id='contacts-table']//button[text()='Keep']"
    )
    keep.send_keys(Keys.ENTER)
    site.wait(lambda d: _active(site).get_attribute("aria-label") == "Delete Hedy Lamarr")


def _rgb(css: str) -> tuple[float, ...]:
    numbers = [float(n) for n in re.findall(r"[\d.]+", css)[:3]]
    return tuple(numbers)


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    "selector", ["#search", "#create-user", "header nav a", "header .sign-out button"]
)
def test_the_focus_ring_is_visible_against_its_background(site: Site, selector: str) -> None:
    """At least 3:1 between the ring and what is around it (WCAG 1.4.11), page and header."""
    site.set_width(1400)
    site.open("/admin/users")
    target = site.css(selector)
    # Reach it with the keyboard, so :focus-visible applies as for a keyboard user.
    site.driver.execute_script("document.querySelector('.skip-link').focus()")
    for _ in range(30):
        if _active(site) == target:
            break
        _press(site, Keys.TAB)
    assert _active(site) == target, f"Tab never reached {selector}"
    style, width, color, around = site.driver.execute_script(
        """
        const el = arguments[0], s = getComputedStyle(el);
        let p = el.parentElement, bg = 'rgba(0, 0, 0, 0)';
        while (p && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) {
          bg = getComputedStyle(p).backgroundColor; p = p.parentElement;
        }
        return [s.outlineStyle, s.outlineWidth, s.outlineColor, bg];
        """,
        target,
    )
    assert style != "none" and float(width.rstrip("px")) >= 2, (style, width)
    ratio = _contrast(_rgb(color), _rgb(around))
    assert ratio >= 3, f"focus ring {color} on {around}: {ratio:.1f}:1"


def test_deleting_a_user_leaves_focus_on_the_list(site: Site) -> None:
    site.set_width(1400)
    temp = site.api.post("/users", {"userName": "temp@example.com", "syncToContact": False})
    site.open(f"/admin/users?open={temp['id']}")
    site.visible("#user-delete").send_keys(Keys.ENTER)
    site.visible("#user-delete-yes").send_keys(Keys.ENTER)
    site.wait(lambda d: "Deleted user temp@example.com" in site.css("#sync-status").text)
    site.wait(lambda d: _active(site).tag_name == "tr")
    assert "temp@example.com" not in site.css("#users-table").text


def test_header_links_never_break_inside_at_800_px(site: Site) -> None:
    """A narrow window moves header parts to a second line instead of breaking a label in two."""
    site.set_width(NARROW)
    site.open("/admin/users")
    lines = site.driver.execute_script(
        """
        const parts = 'header.top .brand, header.top nav a, header.top .who, header.top button';
        return [...document.querySelectorAll(parts)].map((el) => {
          const range = document.createRange();
          range.selectNodeContents(el);
          const tops = new Set([...range.getClientRects()].map((c) => Math.round(c.top)));
          return [el.textContent.trim(), tops.size];
        });
        """
    )
    broken = [text for text, count in lines if count > 1]
    assert lines and not broken, f"broken over two lines at {NARROW} px: {broken}"


def test_escape_in_a_confirm_step_keeps_and_leaves_the_dialog_open(site: Site) -> None:
    site.set_width(1400)
    states.user_delete_confirm(site)
    _press(site, Keys.ESCAPE)
    site.wait(lambda d: not site.css("#user-delete-confirm").is_displayed())
    assert site.css("#user-dialog").get_attribute("open") is not None
    assert _active(site) == site.css("#user-delete")
    _press(site, Keys.ESCAPE)
    site.wait(lambda d: site.css("#user-dialog").get_attribute("open") is None)


def test_escape_in_a_contact_row_confirm_keeps_the_contact(site: Site) -> None:
    site.set_width(1400)
    states.contact_delete_confirm(site)
    _press(site, Keys.ESCAPE)
    site.wait(lambda d: _active(site).get_attribute("aria-label") == "Delete Hedy Lamarr")
    assert "Delete for good" not in site.css("#contacts-table").text


def test_paging_with_the_keyboard_onto_the_last_page_keeps_focus_on_the_pager(
    browser: Any,
) -> None:
    """A server of its own: 51 users (one more than a page) would crowd the seeded pages."""
    from tests.e2e.conftest import AdminApi
    from tests.e2e.seeded_site import ADMIN, PASSWORD
    from tests.support.live_server import live_server

    with live_server() as server:
        server.create_admin(ADMIN, PASSWORD)
        api = AdminApi(server.base_url, server.create_admin_token())
        for n in range(51):
            api.post("/users", {"userName": f"user{n:02d}@example.com", "syncToContact": False})
        own = Site(server, api, browser)
        own.set_width(1400)
        own.sign_in()
        own.open("/admin/users")
        next_page = own.css("#next-page")
        next_page.send_keys(Keys.ENTER)
        own.wait(lambda d: own.css("#page-info").text.startswith("51\u201351"))
        assert not next_page.is_enabled()
        assert _active(own) == own.css("#prev-page")
        _press(own, Keys.ENTER)
        own.wait(lambda d: own.css("#page-info").text.startswith("1\u201350"))
        assert _active(own) == own.css("#next-page")


@pytest.mark.parametrize("width", [1400, NARROW])
def test_a_long_dialog_keeps_its_buttons_in_sight(site: Site, width: int) -> None:
    """The contact dialog (every catalogued field) is taller than the window: Save stays visible."""
    site.set_width(width)
    states.contact_dialog(site)
    dialog, save = site.css("#contact-dialog"), site.css("#contact-save")
    scrolls = "return arguments[0].scrollHeight > arguments[0].clientHeight"
    assert site.driver.execute_script(scrolls, dialog), "the dialog fits: nothing to check"
    inside = """
        const d = arguments[0].getBoundingClientRect(), b = arguments[1].getBoundingClientRect();
        return b.top >= d.top && b.bottom <= d.bottom && b.bottom <= window.innerHeight;
    """
    assert site.driver.execute_script(inside, dialog, save)
    _press(site, Keys.ESCAPE)


def test_contact_names_are_not_squeezed_at_800_px(site: Site) -> None:
    """The table scrolls sideways instead: a name and its read-only reason stay readable."""
    site.set_width(NARROW)
    states.contacts(site)
    cell = site.row_of("#contacts-table", "Grace Hopper").find_element(
        By.CSS_SELECTOR, "td:nth-child(2)"
    )
    assert cell.size["width"] >= 15 * 15, cell.size  # 15rem of the 15 px root font


def test_a_button_busy_while_its_job_runs_gets_the_focus_back(site: Site) -> None:
    """Enter on "Update all synchronized users": the button is disabled meanwhile, then focused."""
    site.set_width(1400)
    states.mapping(site)
    resync = site.css("#resync")
    resync.send_keys(Keys.ENTER)
    site.wait(lambda d: site.css("#resync-job").get_attribute("data-state") == "done")
    site.wait(lambda d: resync.is_enabled())
    assert _active(site) == resync
