"""Helpers for the LDAP source tests: a per-test OU in the session's slapd, settings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from connector import startup
from connector.config import Settings, sources_model
from connector.services.context import Context
from tests.support.slapd import SlapdServer

PASSWORD_ENV = "TEST_LDAP_PASSWORD"


class Directory:
    """Entries under one OU of a real slapd, changed the way an admin would."""

    def __init__(self, server: SlapdServer, parent: str | None = None) -> None:
        self.server = server
        self.base = server.add_ou(f"t{uuid.uuid4().hex[:10]}", parent)

    @contextmanager
    def conn(self) -> Iterator[Any]:
        with self.server.admin_session() as conn:
            yield conn

    def dn(self, uid: str, ou: str | None = None) -> str:
        return f"uid={uid},{ou or self.base}"

    def add(self, uid: str, ou: str | None = None, **attrs: Any) -> str:
        values = {"uid": uid, "cn": uid, "sn": f"Sn {uid}", **attrs}
        classes = values.pop("objectClass", ["inetOrgPerson"])
        with self.conn() as conn:
            assert conn.add(self.dn(uid, ou), classes, values), conn.result
        return self.dn(uid, ou)

    def modify(self, uid: str, ou: str | None = None, **attrs: Any) -> None:
        changes = {
            k: [("MODIFY_REPLACE", v if isinstance(v, list) else [v])] for k, v in attrs.items()
        }
        with self.conn() as conn:
            assert conn.modify(self.dn(uid, ou), changes), conn.result

    def rename(self, uid: str, new_uid: str) -> None:
        with self.conn() as conn:
            assert conn.modify_dn(self.dn(uid), f"uid={new_uid}"), conn.result

    def move(self, uid: str, new_parent: str) -> None:
        with self.conn() as conn:
            assert conn.modify_dn(self.dn(uid), f"uid={uid}", new_superior=new_parent), conn.result

    def delete(self, uid: str) -> None:
        with self.conn() as conn:
            assert conn.delete(self.dn(uid)), conn.result

    def sub_ou(self, name: str) -> str:
        return self.server.add_ou(name, self.base)


def source_config(server: SlapdServer, base: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "corp",
        "urls": [server.url],
        "bind_dn": server.admin_dn,
        "bind_password_env": PASSWORD_ENV,
        "base_dn": base,
        "page_size": 3,
        "sync_to_contact": True,
        "timeouts": {"connect": 2, "receive": 5},
        "retries": 0,
        **overrides,
    }


def with_sources(settings: Settings, *sources: dict[str, Any]) -> Settings:
    return settings.model_copy(
        update={"sources": sources_model().model_validate({"ldap": list(sources)})}
    )


def context(settings: Settings) -> Context:
    return startup.open_context(settings, upgrade=False)
