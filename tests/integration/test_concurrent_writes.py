"""Concurrent writers against the admin API, in real threads: answers are 200 or 409, never 500.

SQLite and PostgreSQL. On PostgreSQL, two mapping saves once both read version N
and both inserted N + 1 (a 500 on the primary key).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from connector.db.models import Setting
from connector.errors import Conflict
from connector.services.context import Context

WRITERS = 10
ROUNDS = 5


def test_simultaneous_mapping_saves_and_resets_answer_200_or_409(app: Flask, api: Any) -> None:
    rows = api.get("/mapping")["rows"]
    first = api.get("/mapping")["version"]
    barrier = threading.Barrier(WRITERS)

    def save(writer: int) -> int:
        client = app.test_client()
        barrier.wait()
        if writer % 2:
            response = client.post("/api/v1/mapping/reset", headers=api.headers)
        else:
            body = {"rows": rows[: 1 + writer]}
            response = client.put("/api/v1/mapping", json=body, headers=api.headers)
        return response.status_code

    statuses: list[int] = []
    with ThreadPoolExecutor(WRITERS) as pool:
        for _ in range(ROUNDS):
            statuses += pool.map(save, range(WRITERS))
    assert set(statuses) <= {200, 409}, statuses
    # A save of the rows already current answers 200 and makes no version: every new
    # version has its one audit event, and none was lost or made twice.
    versions = api.get("/mapping")["version"] - first
    assert 1 <= versions <= statuses.count(200)
    assert api.get("/audit", objectType="mapping")["total"] == versions + 1  # + the first


def test_a_deadlock_is_retried_and_both_writers_succeed(ctx: Any) -> None:
    """Two transactions take two rows in opposite order; PostgreSQL aborts one of them
    (40P01) and ``Context.run`` runs it again. (SQLite: the second waits for the first.)"""
    ctx.run(lambda s: s.add_all([Setting(key="left", value={}), Setting(key="right", value={})]))
    both_hold_one = threading.Barrier(2, timeout=5)
    attempts: list[str] = []

    def writer(first: str, second: str) -> None:
        def work(session: Any) -> None:
            attempts.append(first)
            session.get(Setting, first, with_for_update=True).value = {"by": first}
            session.flush()
            if attempts.count(first) == 1 and ctx.db.dialect == "postgresql":
                both_hold_one.wait()
            session.get(Setting, second, with_for_update=True).value = {"by": first}

        ctx.run(work)

    with ThreadPoolExecutor(2) as pool:
        done = [pool.submit(writer, "left", "right"), pool.submit(writer, "right", "left")]
        for future in done:
            future.result()  # neither raised
    if ctx.db.dialect == "postgresql":
        # At least one of the two ran again (PostgreSQL may abort a retry too, when it
        # meets the other transaction before that one has finished).
        assert len(attempts) >= 3


def test_transient_failures_are_retried_a_bounded_number_of_times(ctx: Any) -> None:
    calls: list[int] = []

    def always_deadlocked(session: Any) -> None:
        calls.append(1)
        raise OperationalError("UPDATE …", {}, _PgError("40P01"))

    with pytest.raises(Conflict):
        ctx.run(always_deadlocked, attempts=3)
    assert len(calls) == 3

    def serialisation_failure_once(session: Any) -> str:
        calls.append(1)
        if len(calls) == 4:
            raise OperationalError("UPDATE …", {}, _PgError("40001"))
        return "ok"

    assert ctx.run(serialisation_failure_once) == "ok"
    assert len(calls) == 5


class _PgError(Exception):
    """Stands for psycopg's error classes, which carry the SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def test_a_read_sees_one_snapshot_while_a_writer_commits(ctx: Context) -> None:
    """A read transaction (Context.read: previews, explanations, SCIM reads) sees the
    state of its first statement to its end, whatever commits meanwhile: WAL on
    SQLite, REPEATABLE READ on PostgreSQL."""

    def counted(session: Any) -> int:
        return len(session.scalars(select(Setting.key)).all())

    def add_setting() -> None:
        ctx.run(lambda s: s.add(Setting(key="snapshot-test", value={})))

    def work(session: Any) -> tuple[int, int]:
        before = counted(session)
        writer = threading.Thread(target=add_setting)
        writer.start()
        writer.join(timeout=30)
        return before, counted(session)

    before, after = ctx.read(work)
    assert after == before
    assert ctx.read(counted) == before + 1  # the write did commit
