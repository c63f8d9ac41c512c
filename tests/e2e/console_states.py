"""Every page of the console, and every state of it that opens something, by name.

The accessibility test runs axe-core on each, the screenshot test saves each
under docs/screenshots/<name>.png, the layout test checks each at 800 px. A
state opens its page, does what an admin does to get there (open a dialog,
ask to delete) and returns the selector of what must then be on screen: a state
whose element is missing did not render, and the test using it fails.
"""

from __future__ import annotations

from collections.abc import Callable

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.e2e.seeded_site import ADMIN, Site


def login(site: Site) -> str:
    site.driver.delete_all_cookies()
    site.open("/admin/sign-in")
    return "form #sign-in"


def login_failed(site: Site) -> str:
    login(site)
    site.css("#name").send_keys(ADMIN)
    site.css("#password").send_keys("not the password")
    site.css("#sign-in").click()
    site.visible("#password-error")
    return "#password-error"


def users(site: Site) -> str:
    site.open("/admin/users")
    site.row_of("#users-table", "margaret.hamilton@okta.example")
    return "#users-table tbody tr[data-id]"


def user_dialog(site: Site) -> str:
    site.open(f"/admin/users?open={site.ids['ada']}")
    site.visible("#user-dialog")
    return "#user-dialog[open] #u-userName"


def user_dialog_scim(site: Site) -> str:
    users(site)
    row = site.row_of("#users-table", "margaret.hamilton@okta.example")
    row.click()
    row.send_keys(Keys.ENTER)
    site.visible("#user-readonly-note")
    return "#user-dialog[open] #user-readonly-note"


def user_create(site: Site) -> str:
    site.open("/admin/users")
    site.css("#create-user").click()
    site.visible("#user-dialog")
    return "#user-dialog[open] #u-userName"


def user_delete_confirm(site: Site) -> str:
    site.open(f"/admin/users?open={site.ids['bob']}")
    site.visible("#user-delete").click()
    site.visible("#user-delete-yes")
    return "#user-delete-confirm #user-delete-yes"


def mapping(site: Site) -> str:
    site.open("/admin/synchronized-users")
    site.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#mapping-table tbody select"))
    return "#mapping-table tbody select"


def contacts(site: Site) -> str:
    site.open("/admin/contacts")
    site.row_of("#contacts-table", "Babbage")
    return "#contacts-table tbody tr[data-id]"


def contact_dialog(site: Site) -> str:
    contacts(site)
    site.row_of("#contacts-table", "Babbage").find_element(By.CSS_SELECTOR, "button.edit").click()
    site.visible("#contact-dialog")
    return "#contact-dialog[open] #contact-fields input"


def contact_create(site: Site) -> str:
    contacts(site)
    site.css("#create-contact").click()
    site.visible("#contact-dialog")
    return "#contact-dialog[open] #contact-fields input"


def contact_delete_confirm(site: Site) -> str:
    contacts(site)
    row = site.row_of("#contacts-table", "Lamarr")
    row.find_element(By.CSS_SELECTOR, "button.delete").click()
    site.wait(lambda d: row.find_elements(By.XPATH, ".//button[text()='Delete for good']"))
    return "#contacts-table .actions button.danger"


def sources(site: Site) -> str:
    site.open("/admin/sources")
    site.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-source="corp"] .chart canvas'))
    return '[data-source="corp"] table.runs tbody tr'


def token_created(site: Site) -> str:
    site.open("/admin/sources")
    site.css("#token-source").send_keys("okta")
    site.css("#token-name").send_keys(f"okta-{len(site.all('#tokens-table tbody tr')) + 1}")
    site.css("#token-create").click()
    site.visible("#token-secret-value")
    return "#token-secret #token-secret-value"


def audit(site: Site) -> str:
    site.open("/admin/audit")
    return "#audit-table tbody tr[data-action]"


def audit_details(site: Site) -> str:
    site.open("/admin/audit?action=contact.create")
    site.css("#audit-table tbody tr[data-action] details summary").click()
    return "#audit-table details[open]"


def mapping_preview(site: Site) -> str:
    mapping(site)
    # An edit worth previewing: the job title goes to the notes instead.
    for row in site.all("#mapping-table tbody tr"):
        selects = row.find_elements(By.CSS_SELECTOR, "select")
        if selects and Select(selects[0]).first_selected_option.get_attribute("value") == "title":
            Select(selects[1]).select_by_value("notes")
            break
    else:
        raise AssertionError("the seeded mapping has no row for the job title")
    site.css("#mapping-preview-button").click()
    site.visible("#mapping-preview")
    return "#mapping-preview #mapping-preview-summary"


def mapping_reverse_confirm(site: Site) -> str:
    mapping(site)
    site.css("#dir-contact").click()
    site.visible("#direction-confirm-yes")
    return "#direction-confirm-yes"


def mapping_reset_confirm(site: Site) -> str:
    mapping(site)
    site.css("#mapping-reset").click()
    site.visible("#mapping-reset-yes")
    return "#mapping-reset-yes"


def scope_preview(site: Site) -> str:
    sources(site)
    scope = site.visible("#scope-okta")
    scope.clear()
    scope.send_keys('title eq "Flight Software"')
    site.css("#scope-okta-preview-button").click()
    site.visible("#scope-okta-preview")
    return "#scope-okta-preview"


def token_revoke_confirm(site: Site) -> str:
    sources(site)
    site.css("#tokens-table tbody tr[data-token] button.revoke").click()
    confirm = '#tokens-table [id^="revoke-"][id$="-yes"]'
    site.wait(lambda d: d.find_elements(By.CSS_SELECTOR, confirm))
    return confirm


def recently_deleted(site: Site) -> str:
    site.open("/admin/recently-deleted")
    site.row_of("#deleted-table", "grace.hopper@okta.example")
    return "#deleted-table tbody tr"


def not_found(site: Site) -> str:
    site.driver.get(site.server.base_url + "/admin/no-such-page")
    return "main h1"


# name -> how to get there; the names are the screenshots' file names.
STATES: dict[str, Callable[[Site], str]] = {
    "login": login,
    "login-failed": login_failed,
    "users": users,
    "user-dialog": user_dialog,
    "user-dialog-scim": user_dialog_scim,
    "user-create": user_create,
    "user-delete-confirm": user_delete_confirm,
    "mapping": mapping,
    "contacts": contacts,
    "contact-dialog": contact_dialog,
    "contact-create": contact_create,
    "contact-delete-confirm": contact_delete_confirm,
    "sources": sources,
    "token-created": token_created,
    "token-revoke-confirm": token_revoke_confirm,
    "scope-preview": scope_preview,
    "mapping-preview": mapping_preview,
    "mapping-reverse-confirm": mapping_reverse_confirm,
    "mapping-reset-confirm": mapping_reset_confirm,
    "recently-deleted": recently_deleted,
    "audit": audit,
    "audit-details": audit_details,
    "not-found": not_found,
}

# The pages themselves (no dialog open): each must fit 800 px.
PAGES = (
    "login",
    "users",
    "mapping",
    "contacts",
    "sources",
    "recently-deleted",
    "audit",
    "not-found",
)
