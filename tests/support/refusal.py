"""Make the database refuse some writes, as it refuses a value it cannot store.

Why: a stored value that breaks a later write (a lone surrogate on SQLite, NUL
or an over-long string on PostgreSQL) cannot always be produced on both
databases any more, now that the input rules refuse them. A trigger that
raises for chosen rows makes the same failure on both, from inside the
database, whatever the write path (ORM, Core, COPY).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

MESSAGE = "value refused by the database"


@contextmanager
def refused(
    engine: Engine, table: str, when: str, events: str = "INSERT OR UPDATE"
) -> Iterator[None]:
    """While the block runs, ``events`` on ``table`` whose row matches ``when`` (an SQL
    condition on ``NEW``, e.g. ``NEW.user_name = 'bob'``) fail in the database."""
    name = f"refuse_{table}"
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ "
                    f"BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = '22021'; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE {events} ON {table} "
                    f"FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION {name}()"
                )
            )
        else:
            for event in events.split(" OR "):
                conn.execute(
                    text(
                        f"CREATE TRIGGER {name}_{event.lower()} BEFORE {event} ON {table} "
                        f"WHEN {when} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
                    )
                )
    try:
        yield
    finally:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
                conn.execute(text(f"DROP FUNCTION IF EXISTS {name}()"))
            else:
                for event in events.split(" OR "):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {name}_{event.lower()}"))
