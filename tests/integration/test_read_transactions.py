"""How a read transaction ends, and what that keeps: on PostgreSQL the statements
psycopg prepared on the connection.

psycopg prepares a statement that a connection runs a fifth time, and forgets
every prepared statement of the connection at each ROLLBACK (sending DEALLOCATE
ALL). Reads ended by a rollback kept every statement unprepared, parsed and
planned anew on each request; a read transaction on PostgreSQL is READ ONLY, so
it ends with COMMIT (Database.reads_end_with_commit). On SQLite it is rolled
back, so that a write made in it by mistake is not kept
(test_previews.py::test_a_preview_reads_beside_a_writer_and_writes_nothing_itself).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from connector.db.engine import Database
from connector.db.models import User
from connector.services.context import Context

_ONE_USER = select(User.id).where(User.id == "nobody")
_PREPARED = text("SELECT count(*) FROM pg_prepared_statements")


def test_reads_keep_the_statements_psycopg_prepared(ctx: Context) -> None:
    if ctx.db.dialect != "postgresql":
        pytest.skip("prepared statements: PostgreSQL")
    database = Database(ctx.db.url)  # its own pool: one connection, used in turn
    reader = Context(ctx.settings, database, ctx.catalogue)
    try:
        for _ in range(8):  # psycopg prepares at the fifth run
            assert reader.read(lambda s: s.execute(_ONE_USER).all()) == []
        assert reader.read(lambda s: s.execute(_PREPARED).scalar_one()) >= 1
    finally:
        database.engine.dispose()
