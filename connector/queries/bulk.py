"""Many rows of one table at once, in the caller's transaction.

Why not ``connection.execute(insert(table), rows)``: a directory import writes
seven rows per user, and SQLAlchemy's per-row parameter handling cost more than
the database's insert (psycopg's executemany even sends one statement per row).
Here a table's rows become a payload first: each column's values bound the way
SQLAlchemy would bind them (its types' bind processors: JSON, UTC datetimes,
booleans), as COPY text for PostgreSQL or parameter tuples for SQLite's
executemany. Preparing needs no connection, so a reader process can do it
(:mod:`connector.ldap.fast_import.import_plan`); writing is one COPY or executemany.
A constraint violation is raised as SQLAlchemy's IntegrityError either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Table, exc, insert

# COPY text format (PostgreSQL docs, "COPY", File Formats: Text Format).
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_NULL = "\\N"


class JSONText(str):
    """A value for a JSON column already serialised the way SQLAlchemy does
    (``json.dumps``); written as it is."""


@dataclass(frozen=True)
class TableRows:
    """A table's rows ready for the database: COPY text (PostgreSQL) or tuples."""

    table: str
    columns: tuple[str, ...]
    payload: bytes | list[tuple[Any, ...]]
    count: int


def prepare(dialect: Any, table: Table, rows: list[dict[str, Any]]) -> TableRows:
    """Bind ``rows`` (same keys in each) as ``dialect`` would, a column at a time."""
    names = tuple(rows[0]) if rows else ()
    postgres = dialect.name == "postgresql"
    columns = []
    for name in names:
        kind = table.c[name].type
        values = [row[name] for row in rows]
        if isinstance(kind, JSON):
            if postgres:
                values = _copy_json(values)
            else:
                process = kind.dialect_impl(dialect).bind_processor(dialect)
                values = [v if type(v) is JSONText else process(v) for v in values]
        else:
            process = kind.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                values = [process(v) for v in values]
            if postgres:
                values = _copy_column(values)
        columns.append(values)
    if not postgres:
        payload: bytes | list[tuple[Any, ...]] = list(zip(*columns, strict=True))
    else:
        lines = "\n".join(map("\t".join, zip(*columns, strict=True)))
        payload = (lines + "\n").encode("utf-8") if rows else b""
    return TableRows(table.name, names, payload, len(rows))


def write(connection: Any, table: Table, rows: TableRows) -> None:
    """Insert prepared rows in the connection's transaction."""
    if not rows.count:
        return
    dialect = connection.dialect
    if dialect.name != "postgresql":
        quote = dialect.identifier_preparer.quote
        statement = "INSERT INTO {} ({}) VALUES ({})".format(
            quote(table.name),
            ", ".join(quote(name) for name in rows.columns),
            ", ".join("?" for _ in rows.columns),
        )
        connection.exec_driver_sql(statement, rows.payload)
        return
    import psycopg
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, rows.columns))
    )
    raw = connection.connection.driver_connection
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            copy.write(rows.payload)
    except psycopg.IntegrityError as error:
        raise exc.IntegrityError(str(statement), None, error) from error


# On PostgreSQL, up to this many rows go in as a plain INSERT: a COPY costs a
# round trip more than one small INSERT, and a SCIM create writes one row a table.
FEW_ROWS = 8


def insert_rows(connection: Any, table: Table, rows: list[dict[str, Any]]) -> None:
    """Prepare and write (see the module's docstring)."""
    if not rows:
        return
    if connection.dialect.name == "postgresql" and len(rows) <= FEW_ROWS:
        connection.execute(insert(table), [_plain(row) for row in rows])
        return
    write(connection, table, prepare(connection.dialect, table, rows))


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as SQLAlchemy's own insert takes it: serialised JSON read back."""
    return {
        name: json.loads(value) if type(value) is JSONText else value for name, value in row.items()
    }


def _escaped(texts: list[str]) -> list[str]:
    """COPY-escape many values at once: joined by NUL (which text in PostgreSQL
    cannot contain, so it only ever separates), four replaces (a fast scan where
    there is nothing to replace, the common case), split again."""
    if not texts:
        return texts
    joined = "\0".join(texts)
    for char, escape in _COPY_ESCAPES:
        if char in joined:
            joined = joined.replace(char, escape)
    return joined.split("\0")


def _copy_json(values: list[Any]) -> list[str]:
    """JSON values as COPY text (JSONText as it is, others as json.dumps writes them)."""
    dumps = json.dumps
    texts = _escaped(["" if v is None else v if type(v) is JSONText else dumps(v) for v in values])
    return [_NULL if v is None else t for v, t in zip(values, texts, strict=True)]


def _copy_column(values: list[Any]) -> list[str]:
    """One column's bound values as COPY text; the column's type decides how."""
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, bool):
        return [_NULL if v is None else ("t" if v else "f") for v in values]
    if isinstance(sample, datetime):
        return [_NULL if v is None else v.isoformat() for v in values]
    if isinstance(sample, int):
        return [_NULL if v is None else str(v) for v in values]
    texts = _escaped(["" if v is None else str(v) for v in values])
    return [_NULL if v is None else t for v, t in zip(values, texts, strict=True)]
