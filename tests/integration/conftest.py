"""Fixtures for tests that talk to a real OpenLDAP server.

The session gets one private slapd (see tests/support/slapd.py). It is not
skipped when slapd is missing: a silently skipped LDAP suite looks green
while testing nothing, so the fixture fails and says how to install it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `tests` is not an installed package; make `tests.support` importable from
# any checkout, whatever the rootdir/import mode.
_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from tests.support.slapd import INSTALL_HINT, SlapdServer, slapd_missing  # noqa: E402

PEOPLE_OU = "people"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the `slapd` fixture as `ldap` (for -m selection)."""
    for item in items:
        if "slapd" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.ldap)


@pytest.fixture(scope="session")
def slapd() -> Iterator[SlapdServer]:
    """A private slapd for the whole session, with ou=people under the suffix."""
    missing = slapd_missing()
    if missing:
        pytest.fail(
            f"OpenLDAP slapd is not installed (missing: {', '.join(missing)}). "
            f"To fix: {INSTALL_HINT}",
            pytrace=False,
        )
    server = SlapdServer().start()
    try:
        server.add_ou(PEOPLE_OU)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def people_dn(slapd: SlapdServer) -> str:
    """DN of ou=people, the container where tests add their people."""
    return f"ou={PEOPLE_OU},{slapd.base_dn}"
