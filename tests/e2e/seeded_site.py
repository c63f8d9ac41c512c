"""One live connector with realistic data, for the page-by-page console tests.

The accessibility, layout and screenshot tests look at every page as an admin
sees it after a few days of use: users from an LDAP directory (a private slapd,
synchronized once so its runs and chart show), from a SCIM client and created in
the console, manual and synchronized contacts, a saved mapping, tokens and the
audit entries all of this left. One server serves all of them (starting one per
test would cost more than the tests).
"""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import AdminApi
from tests.support.live_server import LiveServer

ADMIN, PASSWORD = "alice", "correct horse battery"

LDAP_CONFIG = """
[[sources.ldap]]
name = "corp"
urls = ["{url}"]
bind_dn = "{bind_dn}"
bind_password_env = "E2E_LDAP_PASSWORD"
base_dn = "{base_dn}"
filter = "(objectClass=inetOrgPerson)"
scope = "subtree"
id_attribute = "entryUUID"
change_attribute = "modifyTimestamp"
sync_to_contact = true
poll = "every 60m"
reconcile = "cron 0 2 * * *"
[sources.ldap.attributes]
uid = "userName"
givenName = "name.givenName"
sn = "name.familyName"
mail = 'emails[type eq "work"].value'
title = "title"
telephoneNumber = 'phoneNumbers[type eq "work"].value'
"""

DIRECTORY = (
    ("ghopper", "Grace", "Hopper", "Rear Admiral", "+49 30 1234 101"),
    ("aturing", "Alan", "Turing", "Cryptanalyst", "+49 30 1234 102"),
    ("kjohnson", "Katherine", "Johnson", "Mathematician", "+49 30 1234 103"),
)

SCIM_USERS = (
    ("margaret.hamilton@okta.example", "Margaret", "Hamilton", "Flight Software", "Engineering"),
    ("dennis.ritchie@okta.example", "Dennis", "Ritchie", "Systems Programmer", "Research"),
)


class Site:
    """The seeded server, an admin API client, and a browser signed in to it."""

    def __init__(self, server: LiveServer, api: AdminApi, driver: Any) -> None:
        self.server = server
        self.api = api
        self.driver = driver
        self.ids: dict[str, str] = {}

    # -- browser ----------------------------------------------------------------

    def wait(self, condition: Any, timeout: float = 10) -> Any:
        return WebDriverWait(
            self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)
        ).until(condition)

    def css(self, selector: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[Any]:
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def visible(self, selector: str, timeout: float = 10) -> Any:
        return self.wait(ec.visibility_of_element_located((By.CSS_SELECTOR, selector)), timeout)

    def sign_in(self) -> None:
        """Sign in again: other tests' servers share the browser and the cookie's host."""
        self.driver.delete_all_cookies()
        self.driver.get(self.server.base_url + "/admin/sign-in")
        self.visible("#name").send_keys(ADMIN)
        self.css("#password").send_keys(PASSWORD)
        self.css("#sign-in").click()
        self.wait(lambda d: "/admin/users" in d.current_url)
        # Its requests end before the next step: an answer still on its way would set
        # the session cookie again after a state deleted it (to show the sign-in page).
        self.wait(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))

    def open(self, path: str) -> None:
        """Open a console page (signing in when the session is gone) and wait for its data."""
        self.driver.get(self.server.base_url + path)
        if "/admin/sign-in" in self.driver.current_url and "sign-in" not in path:
            self.sign_in()
            self.driver.get(self.server.base_url + path)
        if "sign-in" in path:
            self.visible("#name")
            return
        self.wait(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))

    def row_of(self, table: str, text: str) -> Any:
        def find(_: Any) -> Any:
            for tr in self.all(f"{table} tbody tr"):
                if text in tr.text:
                    return tr
            return False

        return self.wait(find)

    def set_width(self, width: int, height: int = 900) -> None:
        self.driver.set_window_size(width, height)
        self.wait(lambda d: d.execute_script("return window.innerWidth") <= width)


def _seed_directory(slapd: Any) -> str:
    people = str(slapd.add_ou("people"))
    with slapd.admin_session() as conn:
        for uid, given, family, title, phone in DIRECTORY:
            attrs = {
                "uid": uid,
                "givenName": given,
                "sn": family,
                "cn": f"{given} {family}",
                "mail": f"{uid}@corp.example",
                "title": title,
                "telephoneNumber": phone,
            }
            assert conn.add(f"uid={uid},{people}", ["inetOrgPerson"], attrs), conn.result
    return people


class _PatientApi(AdminApi):
    """The admin API client, trying again when a write met the LDAP source's own first run.

    The source's scheduler starts a run when the server starts; a seeding write that
    touches the same rows then gets "changed concurrently; try again" (409), as the
    API documents, and does what it says.
    """

    def call(self, method: str, path: str, body: Any = None) -> Any:
        for attempt in range(10):
            try:
                return super().call(method, path, body)
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode(errors="replace")
                if exc.code != 409 or "concurrently" not in detail or attempt == 9:
                    raise AssertionError(f"{method} {path}: {exc.code} {detail}") from exc
                time.sleep(0.3)
        raise AssertionError("unreachable")


def _seed(site: Site) -> None:
    server = site.server
    api = _PatientApi(server.base_url, site.api.token)
    ada = api.post(
        "/users",
        {
            "userName": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace", "honorificPrefix": "Dr."},
            "title": "Analyst",
            "emails": [{"type": "work", "value": "ada@example.com"}],
            "phoneNumbers": [{"type": "work", "value": "+49 30 5550 100"}],
            "syncToContact": True,
        },
    )
    site.ids["ada"] = ada["id"]
    bob = api.post(
        "/users",
        {
            "userName": "bob@example.com",
            "name": {"givenName": "Bob", "familyName": "Kahn"},
            "emails": [{"type": "work", "value": "bob@example.com"}],
            "syncToContact": False,
        },
    )
    site.ids["bob"] = bob["id"]
    scim = _PatientApi(server.base_url, server.token or "")
    scim.base = server.scim_url
    for user_name, given, family, title, department in SCIM_USERS:
        scim.post(
            "/Users",
            {
                "schemas": [
                    "urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                ],
                "userName": user_name,
                "name": {"givenName": given, "familyName": family},
                "title": title,
                "emails": [{"type": "work", "value": user_name, "primary": True}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "department": department
                },
            },
        )
    # A user the identity provider deleted: pending on "Recently deleted".
    gone = scim.post(
        "/Users",
        {"userName": "grace.hopper@okta.example", "name": {"givenName": "Grace"}},
    )
    scim.call("DELETE", f"/Users/{gone['id']}")
    for fields in (
        {
            "firstName": "Charles",
            "lastName": "Babbage",
            "company": "Difference Engines Ltd",
            "email": "charles@engines.example",
            "phone": "+44 20 7946 0018",
        },
        {"firstName": "Hedy", "lastName": "Lamarr", "company": "Frequency Hopping Inc"},
    ):
        api.post("/contacts", {"fields": fields})
    # A saved mapping (one row fewer than the default), applied to every contact.
    mapping = api.get("/mapping")
    rows = [r for r in mapping["rows"] if r["contactField"] not in ("nickname", "fax")]
    api.call("PUT", "/mapping", {"rows": rows, "version": mapping["version"]})
    job = api.post("/contacts/resync")
    _wait_job(api, job)
    api.call("PATCH", "/settings", {"deleteContactWithUser": True})
    api.post("/tokens", {"kind": "scim", "source": "okta", "name": "okta-staging"})
    api.post("/sources/corp/sync", {})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = api.get("/sources/corp/runs")
        items = runs if isinstance(runs, list) else runs.get("items", [])
        if items and items[0].get("state") not in ("queued", "running"):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the LDAP source's first run did not end within 30 s", pytrace=False)


def _wait_job(api: AdminApi, job: dict[str, Any]) -> None:
    deadline = time.monotonic() + 30
    while job["state"] in ("queued", "running"):
        if time.monotonic() > deadline:
            pytest.fail(f"job {job['id']} did not end within 30 s", pytrace=False)
        time.sleep(0.2)
        job = api.get(f"/jobs/{job['id']}")


@contextmanager
def seeded_site(driver: Any, tmp: Path) -> Iterator[Site]:
    """Start slapd and the connector, seed them, sign the browser in; stop both at the end."""
    from tests.support.slapd import INSTALL_HINT, SlapdServer, slapd_missing

    missing = slapd_missing()
    if missing:
        pytest.fail(f"slapd is not installed ({', '.join(missing)}): {INSTALL_HINT}", pytrace=False)
    with SlapdServer() as slapd:
        people = _seed_directory(slapd)
        config = tmp / "ldap.toml"
        config.write_text(LDAP_CONFIG.format(url=slapd.url, bind_dn=slapd.admin_dn, base_dn=people))
        env = {"CONNECTOR_CONFIG": str(config), "E2E_LDAP_PASSWORD": slapd.admin_password}
        server = LiveServer(source="okta", extra_env=env).start()
        try:
            server.create_admin(ADMIN, PASSWORD)
            site = Site(server, AdminApi(server.base_url, server.create_admin_token()), driver)
            _seed(site)
            site.sign_in()
            yield site
        finally:
            server.stop()
