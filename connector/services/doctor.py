"""Stored values that today's input rules would refuse, found so that an admin can repair them.

Values written before those rules (a lone surrogate or NUL in a string, a
string longer than its column) can still sit in the database and break later
work. The scan reads users, groups, contacts, mappings, settings and sources in
primary-key order, a batch per short transaction, so it runs beside the
serving process and its memory stays flat however many rows there are. It
reports each finding by object: type, id, attribute path and what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import JSON, Column, Row, Select, String, select
from sqlalchemy.orm import Session

from connector.db.models import Contact, Group, MappingVersion, Setting, Source, User
from connector.services.context import Context
from connector.services.failures import printable
from scim.input_limits import text_problem

BATCH = 1000

# What is scanned: (object type as reported, model). Every string column and every
# string inside a JSON column of these tables is checked.
SCANNED: tuple[tuple[str, Any], ...] = (
    ("user", User),
    ("group", Group),
    ("contact", Contact),
    ("mapping", MappingVersion),
    ("setting", Setting),
    ("source", Source),  # its name and sync scope (a SCIM filter)
)


@dataclass(frozen=True)
class Finding:
    """One stored value the input rules would refuse."""

    object_type: str
    object_id: str
    path: str
    problem: str

    def line(self) -> str:
        return f"{self.object_type} {self.object_id}: {self.path}: {self.problem}"


def scan(ctx: Context, batch: int = BATCH) -> Iterator[Finding]:
    """Every finding of every scanned table, as the batches are read."""
    for object_type, model in SCANNED:
        yield from _scan_table(ctx, object_type, model, batch)


def _scan_table(ctx: Context, object_type: str, model: Any, batch: int) -> Iterator[Finding]:
    table = model.__table__
    [key] = table.primary_key.columns
    checked: list[Column[Any]] = [c for c in table.columns if isinstance(c.type, (String, JSON))]
    after: Any = None
    while True:
        query = select(key, *checked).order_by(key).limit(batch)
        if after is not None:
            query = query.where(key > after)
        rows = ctx.run(partial(_read, query=query))
        for row in rows:
            values: tuple[Any, ...] = tuple(row[1:])
            for column, value in zip(checked, values, strict=True):
                for path, problem in _value_problems(column, value):
                    yield Finding(object_type, str(row[0]), path, problem)
        if len(rows) < batch:
            return
        after = rows[-1][0]


def _read(session: Session, *, query: Select[Any]) -> Sequence[Row[Any]]:
    return session.execute(query).all()


def _value_problems(column: Column[Any], value: Any) -> Iterator[tuple[str, str]]:
    if value is None:
        return
    if isinstance(column.type, JSON):
        yield from _json_problems(value, column.name)
        return
    problem = text_problem(value)
    if problem is not None:
        yield column.name, problem
    limit = column.type.length if isinstance(column.type, String) else None
    if limit is not None and len(value) > limit:
        yield column.name, f"{len(value)} characters, longer than the column's {limit}"


def _json_problems(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Problems in every string of a JSON document, keys included, by path."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            yield path, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            key_problem = text_problem(str(key))
            inner = f"{path}.{printable(str(key))}"
            if key_problem is not None:
                yield inner, f"attribute name {key_problem}"
            yield from _json_problems(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_problems(item, f"{path}[{index}]")
