"""The client's retry rules, with a stand-in connection (the real server paths are in
tests/integration/test_ldap_sync.py)."""

from __future__ import annotations

from typing import Any

import pytest

from connector.ldap.client import LdapClient, SearchAborted
from connector.ldap.settings import LdapSourceConfig

CFG = LdapSourceConfig.model_validate(
    {"name": "c", "urls": ["ldap://127.0.0.1:1"], "base_dn": "dc=x", "retries": 2}
)


class _Conn:
    """Answers each search with the next result code."""

    def __init__(self, codes: list[int]) -> None:
        self.codes, self.calls = codes, 0
        self.result: dict[str, Any] = {}
        self.response: list[dict[str, Any]] = []
        self.diverted: list[tuple[str, dict[str, list[bytes]]]] = []

    def search(self, *args: Any, **kwargs: Any) -> None:
        code = self.codes[min(self.calls, len(self.codes) - 1)]
        self.calls += 1
        self.result = {"result": code, "description": f"code{code}", "controls": {}}
        if not code:  # what connector.ldap.fast_import diverts from ldap3
            self.diverted.append(("uid=a,dc=x", {"uid": [b"a"]}))


def client(codes: list[int]) -> tuple[LdapClient, _Conn, list[float]]:
    sleeps: list[float] = []
    c = LdapClient(CFG, sleep=sleeps.append)
    conn = _Conn(codes)
    c._main, c.url = conn, "ldap://127.0.0.1:1"  # type: ignore[assignment]
    return c, conn, sleeps


def test_busy_server_is_retried_with_backoff() -> None:
    c, conn, sleeps = client([51, 52, 0])
    pages = list(c.pages("(uid=*)", ["uid"]))
    assert [e.dn for e in pages[0]] == ["uid=a,dc=x"]
    assert conn.calls == 3 and sleeps == [0.5, 1.0]


def test_busy_beyond_the_retries_and_other_errors_abort() -> None:
    c, conn, _ = client([51])
    with pytest.raises(SearchAborted, match="code51"):
        list(c.pages("(uid=*)", ["uid"]))
    assert conn.calls == 3
    c, conn, sleeps = client([4])  # sizeLimitExceeded: never retried, never partial
    with pytest.raises(SearchAborted, match="code4"):
        list(c.pages("(uid=*)", ["uid"]))
    assert conn.calls == 1 and sleeps == []


def test_unreachable_servers_fail_after_the_retries() -> None:
    from connector.ldap.client import LdapUnavailable

    sleeps: list[float] = []
    with pytest.raises(LdapUnavailable, match=r"127\.0\.0\.1:1"):
        LdapClient(CFG, sleep=sleeps.append).connect()
    assert sleeps == [0.5, 1.0]
