"""Shared fixtures: a database per backend (SQLite and PostgreSQL), the app, an API client.

Every database-facing test runs twice, once per backend. Each backend gets a
fresh database for the session (PostgreSQL: a new database on the local
server, dropped at the end), migrated once; tables are emptied between tests.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from connector import startup
from connector.config import Settings
from connector.db.engine import Database
from connector.db.models import Base
from connector.services import tokens
from connector.services.context import Context
from connector.web.app import create_app

PG_ADMIN_URL = os.environ.get("CONNECTOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{dbname}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database of each backend for the whole session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'connector.db'}"
        dbname = None
    else:
        dbname = f"connector_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{dbname}"')
        url = _pg_url(dbname)
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    if dbname is not None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """A new, empty database of ``backend`` ("sqlite" in ``folder``, or "postgresql" on the
    local server, dropped at the end), for tests of migrations and of several processes."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'fresh-{uuid.uuid4().hex[:6]}.db'}"
        return
    name = f"connector_fresh_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_tables(url: str) -> None:
    db = Database(url)
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))
    db.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    _empty_tables(database_url)
    return Settings.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "database": {"url": database_url},
            "jobs": {"batch_size": 3},
        }
    )


@pytest.fixture
def started(settings: Settings) -> Iterator[startup.Started]:
    """The process start-up of ``connector serve`` on the session's migrated database."""
    started = startup.start(settings, upgrade=False)
    yield started
    started.runner.shutdown()
    started.ctx.db.dispose()


@pytest.fixture
def app(started: startup.Started) -> Flask:
    return create_app(started.ctx, started.runner)


@pytest.fixture
def ctx(app: Flask) -> Context:
    return app.extensions["connector.context"]


class Api:
    """A thin JSON client for the admin API that checks status codes."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(
        self, method: str, path: str, body: Any = None, *, expect: int | None = None, **params: Any
    ) -> Any:
        response = self.client.open(
            f"/api/v1{path}",
            method=method,
            json=body,
            headers=self.headers,
            query_string=params or None,
        )
        if expect is not None:
            assert response.status_code == expect, (response.status_code, response.get_data(True))
        if response.is_json:
            return response.get_json()
        return response.get_data(as_text=True)

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, expect=kw.pop("expect", 200), **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Any:
        return self.call("PUT", path, body, **kw)

    def patch(self, path: str, body: Any, **kw: Any) -> Any:
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.call("DELETE", path, **kw)

    # Shortcuts for the objects most tests work with.
    def create_user(
        self, user_name: str | None = None, *, sync: bool = False, **attrs: Any
    ) -> dict[str, Any]:
        body = {**attrs, "syncToContact": sync}
        if user_name is not None:
            body["userName"] = user_name
        return self.post("/users", body, expect=201)

    def contact(self, contact_id: str) -> dict[str, Any]:
        return self.get(f"/contacts/{contact_id}")

    def wait_for_job(self, job_id: str, *, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(f"/jobs/{job_id}")
            if job["state"] not in ("queued", "running"):
                return job
            assert time.monotonic() < deadline, f"job {job_id} did not finish: {job}"
            time.sleep(0.05)


@pytest.fixture
def admin_token(ctx: Context) -> str:
    return ctx.run(lambda s: tokens.create(s, "test", name="tester", kind=tokens.ADMIN))[1]


@pytest.fixture
def api(app: Flask, admin_token: str) -> Api:
    return Api(app.test_client(), admin_token)


@pytest.fixture
def barbara() -> dict[str, Any]:
    """A complete user in the shape IdPs send."""
    return {
        "userName": "bjensen@example.com",
        "externalId": "701984",
        "name": {
            "givenName": "Barbara",
            "familyName": "Jensen",
            "middleName": "Jane",
            "honorificPrefix": "Dr.",
            "honorificSuffix": "III",
        },
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "emails": [
            {"type": "work", "value": "bjensen@example.com", "primary": True},
            {"type": "home", "value": "babs@jensen.org"},
        ],
        "phoneNumbers": [
            {"type": "work", "value": "+1 555 555 5555"},
            {"type": "mobile", "value": "+1 555 555 4444"},
        ],
        "addresses": [
            {
                "type": "work",
                "streetAddress": "100 Universal City Plaza",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "USA",
            }
        ],
        "preferredLanguage": "en-US",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "organization": "Universal Studios",
            "manager": {
                "value": "26118915-6090-4610-87e4-49d8ca9f808d",
                "displayName": "John Smith",
            },
        },
    }


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(**data: Any) -> Settings:
        return Settings.model_validate({"data_dir": str(tmp_path / "data"), **data})

    return build
