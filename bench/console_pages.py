"""Benchmark: admin console page loads with 10,000 users and 10,000 contacts.

    .venv/bin/python bench/console_pages.py [--users 10000] [--backend sqlite|postgresql|both]
                                            [--loads 5]
    .venv/bin/python bench/console_pages.py --deep-contacts 100000 [--backend ...]

Fills a fresh database (bulk inserts as in bench/resync.py, not timed) with N
users of three sources, N/2 of them synchronised (so N/2 linked contacts) plus
N/2 manual contacts, and N audit events. Then it starts the real ``connector
serve``, signs in with headless Chromium (Debian's chromium + chromedriver) and
loads every console page ``--loads`` times. A page counts as loaded when its
script has rendered the first page of data (``body[data-ready]``); the time is
``performance.now()`` at that moment, i.e. from navigation start: HTML, CSS,
scripts, the API calls and rendering. It prints the median and the worst load
per page, and the API timings of a deep page and a search, and exits 1 when a
median is over the 300 ms target.

``--deep-contacts N`` measures the contact listing alone (no browser): N users,
every one synchronised (N linked contacts), then the API time of the first page
and of a page deep in the list (``startIndex`` N - 1,000, and the same page
reached with the ``cursor`` the listing returns), in each sort order.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.resync import _drop, _fresh_url, _user  # noqa: E402

TARGET_MS = 300
PAGES = ("users", "synchronized-users", "contacts", "sources", "audit")
ADMIN, PASSWORD = "bench", "bench password 1"


def seed(url: str, count: int, every_synced: bool = False) -> None:
    from sqlalchemy import insert, select, text

    from connector.catalogue import load_catalogue
    from connector.db.engine import Database
    from connector.db.models import AuditEvent, Contact, ContactLink, Source, User, utcnow
    from connector.mapping import apply, sort_columns
    from connector.services import bootstrap, mappings, sources

    db = Database(url)
    db.upgrade()
    catalogue = load_catalogue(None)
    with db.sessions.begin() as session:
        bootstrap.ensure_defaults(session, catalogue)
        current = mappings.current(session)
        sources.get_or_create(session, "okta", "scim")
        sources.get_or_create(session, "entra", "scim")
        source_ids = list(session.scalars(select(Source.id).order_by(Source.id)))
    now = utcnow()
    batch = 5000
    for start in range(0, count, batch):
        users, contacts, links, events = [], [], [], []
        for i in range(start, min(count, start + batch)):
            data = _user(i)
            uid = str(uuid.uuid4())
            synced = every_synced or i % 2 == 0
            users.append(
                {
                    "id": uid,
                    "source_id": source_ids[i % len(source_ids)],
                    "user_name": data["userName"],
                    "user_name_ci": data["userName"],
                    "external_id": None,
                    "active": True,
                    "resource": data,
                    "sync_to_contact": synced,
                    "sync_direction": None,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            cid = str(uuid.uuid4())
            if synced:
                fields = apply(data, current.rows)
                links.append(
                    {
                        "user_id": uid,
                        "contact_id": cid,
                        "state": "active",
                        "mapping_version": current.version,
                        "created_at": now,
                    }
                )
            else:
                fields = {"firstName": f"Manual{i}", "lastName": f"Contact{i}", "company": "ACME"}
            contacts.append(
                {
                    "id": cid,
                    "fields": fields,
                    **sort_columns(fields),
                    "active": True,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            events.append(
                {
                    "at": now,
                    "actor": "scim:okta",
                    "action": "user.create",
                    "object_type": "user",
                    "object_id": uid,
                    "before": None,
                    "after": {"userName": data["userName"]},
                    "outcome": "ok",
                    "message": None,
                }
            )
        with db.engine.begin() as conn:
            conn.execute(insert(User.__table__), users)
            conn.execute(insert(Contact.__table__), contacts)
            conn.execute(insert(ContactLink.__table__), links)
            conn.execute(insert(AuditEvent.__table__), events)
    with db.engine.begin() as conn:
        # The planner's statistics, as autovacuum (PostgreSQL) would have them after a
        # load this size, so that the figures do not depend on when it came by.
        conn.execute(text("ANALYZE"))
    db.dispose()


def _browser(profile: str):  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1366,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(
        options=options, service=Service(executable_path="/usr/bin/chromedriver")
    )


def _wait_ready(driver, timeout: float = 20.0) -> float:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = driver.execute_script("return document.body && document.body.dataset.readyAt")
        if ready:
            return float(ready)
        time.sleep(0.01)
    raise RuntimeError(f"{driver.current_url} did not finish loading")


def _api_ms(base: str, token: str, path: str, repeat: int = 5) -> float:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    times = []
    for _ in range(repeat):
        request = urllib.request.Request(base + "/api/v1" + path)
        request.add_header("Authorization", f"Bearer {token}")
        began = time.perf_counter()
        with opener.open(request, timeout=30) as response:
            response.read()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def measure(url: str, loads: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    from selenium.webdriver.common.by import By

    from tests.support.live_server import LiveServer

    with LiveServer(database_url=url, source="okta") as server:
        server.create_admin(ADMIN, PASSWORD)
        token = server.create_admin_token("bench")
        with tempfile.TemporaryDirectory(prefix="bench-chromium-") as profile:
            driver = _browser(profile)
            try:
                driver.get(server.base_url + "/admin/sign-in")
                driver.find_element(By.ID, "name").send_keys(ADMIN)
                driver.find_element(By.ID, "password").send_keys(PASSWORD)
                driver.find_element(By.ID, "sign-in").click()
                _wait_ready(driver)
                results: dict[str, list[float]] = {page: [] for page in PAGES}
                for _ in range(loads):
                    for page in PAGES:
                        driver.get(f"{server.base_url}/admin/{page}")
                        results[page].append(_wait_ready(driver))
            finally:
                driver.quit()
        deep = 10_000 // 2
        api = {
            "GET /users (first 50)": _api_ms(server.base_url, token, "/users?count=50"),
            f"GET /users (startIndex {deep})": _api_ms(
                server.base_url, token, f"/users?count=50&startIndex={deep}"
            ),
            'GET /users (search "user00999")': _api_ms(
                server.base_url,
                token,
                "/users?count=50&filter="
                + urllib.request.quote(
                    'userName co "user00999" or displayName co "user00999" or '
                    'name.familyName co "user00999" or emails.value co "user00999"'
                ),
            ),
            "GET /contacts (first 50)": _api_ms(server.base_url, token, "/contacts?count=50"),
            'GET /contacts (q "family42")': _api_ms(
                server.base_url, token, "/contacts?count=50&q=family42"
            ),
            "GET /audit (first 50)": _api_ms(server.base_url, token, "/audit?count=50"),
        }
    return results, api


def _api_json(base: str, token: str, path: str) -> Any:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(base + "/api/v1" + path)
    request.add_header("Authorization", f"Bearer {token}")
    with opener.open(request, timeout=60) as response:
        return json.loads(response.read())


def measure_deep_contacts(url: str, count: int) -> dict[str, float | None]:
    """API times of the contact listing's first and deep pages, by offset and by cursor."""
    from tests.support.live_server import LiveServer

    deep = max(1, count - 1000)
    results: dict[str, float | None] = {}
    with LiveServer(database_url=url, source="okta") as server:
        token = server.create_admin_token("bench")
        base = server.base_url
        for sort in ("name", "email", "updated"):
            for order in ("ascending", "descending"):
                query = f"/contacts?managed=true&count=50&sortBy={sort}&sortOrder={order}"
                label = f"{sort} {order}"
                results[f"{label}: first page"] = _api_ms(base, token, query)
                results[f"{label}: startIndex={deep}"] = _api_ms(
                    base, token, f"{query}&startIndex={deep}"
                )
                before = _api_json(base, token, f"{query}&startIndex={deep - 50}")
                cursor = before.get("nextCursor")
                results[f"{label}: cursor at {deep}"] = (
                    _api_ms(base, token, f"{query}&cursor={urllib.request.quote(cursor)}")
                    if cursor
                    else None
                )
    return results


def deep_contacts(backends: list[str], count: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            url, dbname = _fresh_url(backend, Path(tmp))
            try:
                began = time.perf_counter()
                seed(url, count, every_synced=True)
                print(
                    f"{backend}: {count} users and {count} synchronised contacts "
                    f"seeded in {time.perf_counter() - began:.1f} s",
                    flush=True,
                )
                results = measure_deep_contacts(url, count)
            finally:
                _drop(dbname)
            print(f"{'GET /contacts?managed=true&count=50, sortBy':<52}{'median ms':>10}")
            for name, ms in results.items():
                shown = f"{ms:>10.1f}" if ms is not None else f"{'n/a':>10}"
                print(f"{name:<52}{shown}")
            print(flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--deep-contacts", type=int, metavar="N")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if args.deep_contacts:
        return deep_contacts(backends, args.deep_contacts)
    slow = False
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            url, dbname = _fresh_url(backend, Path(tmp))
            try:
                began = time.perf_counter()
                seed(url, args.users)
                print(
                    f"{backend}: {args.users} users, {args.users} contacts "
                    f"({args.users // 2} synchronised), {args.users} audit events "
                    f"seeded in {time.perf_counter() - began:.1f} s",
                    flush=True,
                )
                pages, api = measure(url, args.loads)
            finally:
                _drop(dbname)
            print(f"{'page':<24}{'median ms':>10}{'worst ms':>10}  target {TARGET_MS} ms")
            for page, times in pages.items():
                median = statistics.median(times)
                slow |= median > TARGET_MS
                verdict = "ok" if median <= TARGET_MS else "SLOW"
                print(f"/admin/{page:<17}{median:>10.0f}{max(times):>10.0f}  {verdict}")
            print(f"{'API call':<36}{'median ms':>10}")
            for name, ms in api.items():
                print(f"{name:<36}{ms:>10.1f}")
            print(flush=True)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
