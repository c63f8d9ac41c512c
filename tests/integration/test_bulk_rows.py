"""Bulk rows (COPY text on PostgreSQL, executemany on SQLite) and one-parameter key
lookups, against both databases: what goes in comes back, awkward text included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from connector.db.models import AuditEvent, Source, User
from connector.queries import bulk
from connector.queries.column_in import column_in
from connector.services.context import Context

AWKWARD = ["tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "Jürgen Ø", ""]


def _user(index: int, name: str, source_id: int) -> dict[str, Any]:
    now = datetime(2026, 11, 25, 12, 0, index, 123456, tzinfo=UTC)
    return {
        "id": f"00000000-0000-4000-8000-{index:012d}",
        "source_id": source_id,
        "user_name": name,
        "user_name_ci": f"{index}:{name.lower()}",
        "external_id": None if index % 2 else f"key\t{index}",
        "active": bool(index % 2),
        "resource": {"userName": name, "note": 'a\\b\t"q"', "n": index},
        "sync_to_contact": True,
        "sync_direction": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def test_rows_come_back_as_written(ctx: Context) -> None:
    def write(session: Any) -> None:
        source = session.scalars(select(Source).where(Source.name == "local")).one()
        rows = [_user(i, name, source.id) for i, name in enumerate(AWKWARD)]
        rows[1]["resource"] = bulk.JSONText('{"userName": "new\\nline", "kept": "as text"}')
        bulk.insert_rows(session.connection(), User.__table__, rows)
        event = {"at": rows[0]["created_at"], "actor": "a\tb", "action": "x", "object_type": "t"}
        bulk.insert_rows(
            session.connection(),
            AuditEvent.__table__,
            [
                {
                    **event,
                    "object_id": None,
                    "before": None,
                    "after": {"k": "v\n"},
                    "outcome": "ok",
                    "message": "line\nbreak",
                }
            ],
        )

    ctx.run(write)

    def read(session: Any) -> tuple[list[User], AuditEvent]:
        users = list(session.scalars(select(User).order_by(User.id)))
        event = session.scalars(select(AuditEvent).where(AuditEvent.actor == "a\tb")).one()
        return users, event

    users, event = ctx.run(read)
    assert [u.user_name for u in users] == AWKWARD
    assert users[0].resource == {"userName": "tab\there", "note": 'a\\b\t"q"', "n": 0}
    assert users[1].resource == {"userName": "new\nline", "kept": "as text"}
    assert [u.external_id for u in users[:3]] == ["key\t0", None, "key\t2"]
    assert [u.active for u in users[:2]] == [False, True]
    assert users[2].created_at == datetime(2026, 11, 25, 12, 0, 2, 123456, tzinfo=UTC)
    assert (event.before, event.after, event.message) == (None, {"k": "v\n"}, "line\nbreak")


def test_column_in_finds_the_same_rows_as_in(ctx: Context) -> None:
    def work(session: Any) -> tuple[set[str], set[str]]:
        source = session.scalars(select(Source).where(Source.name == "local")).one()
        rows = [_user(i, f"u{i}", source.id) for i in range(20)]
        bulk.insert_rows(session.connection(), User.__table__, rows)
        wanted = ["3:u3", "7:u7", "nobody", "19:u19"]
        found = set(
            session.scalars(select(User.user_name_ci).where(column_in(User.user_name_ci, wanted)))
        )
        plain = set(session.scalars(select(User.user_name_ci).where(User.user_name_ci.in_(wanted))))
        return found, plain

    found, plain = ctx.run(work)
    assert found == plain == {"3:u3", "7:u7", "19:u19"}


def test_column_in_lets_sqlite_use_the_index(ctx: Context) -> None:
    """It once compiled to "(... IN (...)) = 1" on SQLite, which scans the table."""
    if ctx.db.dialect != "sqlite":
        pytest.skip("about SQLite's query planner")
    statement = select(User.id).where(column_in(User.user_name_ci, ["a", "b"]))
    compiled = statement.compile(ctx.db.engine, compile_kwargs={"literal_binds": True})
    with ctx.db.engine.connect() as connection:
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").fetchall()
    assert "USING INDEX" in " ".join(str(step[-1]) for step in plan)
