"""SQL over SCIM resources stored as JSON, for SQLite (JSON1) and PostgreSQL (jsonb).

The two backends spell JSON access differently, so a condition is built once per
dialect from the primitives below and wrapped in :class:`ByDialect`, which
compiles whichever branch matches the connection's dialect. Every primitive is
made of ordinary SQLAlchemy constructs with bound parameters. The JSON keys in
paths come from the SCIM schema definitions, never from request input.

A JSON value is addressed by a document expression (the ``resource`` column,
or the ``value`` column of an array-element table function) and a tuple of
object keys. Each predicate here is two-valued: it is true or false, never
NULL, so that NOT around it means what the filter says.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    FromClause,
    Pool,
    String,
    Text,
    and_,
    case,
    cast,
    collate,
    column,
    event,
    false,
    func,
    literal,
    or_,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY as PG_ARRAY
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

Keys = tuple[str, ...]

# The kinds of JSON value a predicate can ask for; "absent" means no such key.
STRING, NUMBER, TRUE, FALSE, OBJECT, ARRAY, NULL, ABSENT = (
    "string",
    "number",
    "true",
    "false",
    "object",
    "array",
    "null",
    "absent",
)
ALL_KINDS = frozenset({STRING, NUMBER, TRUE, FALSE, OBJECT, ARRAY, NULL, ABSENT})

# SQLite: Python's str.lower() as an SQL function, so that case folding is the
# same as the evaluator's (SQLite's own lower() folds ASCII letters only).
SQLITE_LOWER = "scim_lower"
_REGISTERED = "connector.queries.json_sql.functions"


def _py_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


@event.listens_for(Pool, "checkout")
def _register_sqlite_functions(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Give every SQLite connection the functions the filters use (once per connection)."""
    if record.info.get(_REGISTERED) is dbapi_connection:
        return
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function(SQLITE_LOWER, 1, _py_lower, deterministic=True)
    record.info[_REGISTERED] = dbapi_connection


def concat(*parts: Any) -> ColumnElement[str]:
    """String concatenation (``||``) on both backends."""
    result = parts[0]
    for part in parts[1:]:
        result = result.op("||", return_type=String())(part)
    return result


class JsonSql:
    """The primitives the filter translation needs, for one dialect."""

    name: str

    def document(self, doc: Any) -> Any:
        """The expression to use as a JSON document (the column, typed for the dialect)."""
        raise NotImplementedError

    def is_kind(self, doc: Any, keys: Keys, *kinds: str) -> ColumnElement[bool]:
        """The value at ``keys`` is of one of ``kinds`` (see ALL_KINDS)."""
        raise NotImplementedError

    def text(self, doc: Any, keys: Keys) -> ColumnElement[str]:
        """The text of a JSON string (only meaningful where is_kind(STRING))."""
        raise NotImplementedError

    def nonempty(self, doc: Any, keys: Keys) -> ColumnElement[bool]:
        """Present in the evaluator's sense: not absent, null, "", {} or []."""
        raise NotImplementedError

    def elements(self, doc: Any, keys: Keys) -> tuple[FromClause, Any, ColumnElement[bool]]:
        """A fresh table of the array's items: (FROM element, item document, item is an object)."""
        raise NotImplementedError

    def lower(self, text: Any) -> ColumnElement[str]:
        raise NotImplementedError

    def bytewise(self, text: Any) -> ColumnElement[str]:
        """``text`` compared in code point order (Python's str ordering)."""
        raise NotImplementedError

    def indexed_prefix(self, column: Any, prefix: str, upper: str | None) -> ColumnElement[bool]:
        """A range on ``column`` implied by "starts with ``prefix``" that an index on
        the column can serve (true where the column's index order is not code point
        order); ``upper`` is the least string above every string with the prefix."""
        raise NotImplementedError

    def iso_lower(self, timestamp: Any) -> ColumnElement[str]:
        """A UTC timestamp column as the SCIM representation writes it, lower-cased:
        ``datetime.isoformat()`` with ``Z`` for ``+00:00`` (``2024-05-01t12:00:00.5z``)."""
        raise NotImplementedError


def _check_keys(keys: Keys) -> Keys:
    for key in keys:
        if '"' in key or "\\" in key:  # pragma: no cover - schema names never do
            raise ValueError(f"unsupported JSON key {key!r}")
    return keys


class SqliteJson(JsonSql):
    name = "sqlite"
    _KINDS = {
        STRING: ("text",),
        NUMBER: ("integer", "real"),
        TRUE: ("true",),
        FALSE: ("false",),
        OBJECT: ("object",),
        ARRAY: ("array",),
        NULL: ("null",),
        ABSENT: ("absent",),
    }

    @staticmethod
    def _path(keys: Keys) -> Any:
        return literal("$" + "".join(f'."{k}"' for k in _check_keys(keys)))

    def document(self, doc: Any) -> Any:
        return doc

    def is_kind(self, doc: Any, keys: Keys, *kinds: str) -> ColumnElement[bool]:
        names = [n for k in kinds for n in self._KINDS[k]]
        return func.coalesce(func.json_type(doc, self._path(keys)), "absent").in_(names)

    def text(self, doc: Any, keys: Keys) -> ColumnElement[str]:
        return func.json_extract(doc, self._path(keys), type_=Text())

    def nonempty(self, doc: Any, keys: Keys) -> ColumnElement[bool]:
        raw = func.json_extract(doc, self._path(keys))
        return case(
            {
                "text": raw != "",
                "object": raw != "{}",
                "array": raw != "[]",
                "true": True,
                "false": True,
                "integer": True,
                "real": True,
            },
            value=func.json_type(doc, self._path(keys)),
            else_=False,
        )

    def elements(self, doc: Any, keys: Keys) -> tuple[FromClause, Any, ColumnElement[bool]]:
        items = func.json_each(doc, self._path(keys)).table_valued("value", "type")
        return items, items.c.value, items.c.type == "object"

    def lower(self, text: Any) -> ColumnElement[str]:
        return getattr(func, SQLITE_LOWER)(text, type_=Text())

    def bytewise(self, text: Any) -> ColumnElement[str]:
        return text  # SQLite's BINARY collation compares UTF-8 bytes: code point order

    def indexed_prefix(self, column: Any, prefix: str, upper: str | None) -> ColumnElement[bool]:
        # SQLite's LIKE ignores ASCII case, so it cannot use a BINARY index; the range can.
        lower = column >= prefix
        return lower if upper is None else and_(lower, column < upper)

    def iso_lower(self, timestamp: Any) -> ColumnElement[str]:
        # SQLAlchemy stores DATETIME as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC here).
        micro = func.substr(timestamp, 21, 6, type_=Text())
        return concat(
            func.substr(timestamp, 1, 10, type_=Text()),
            literal("t"),
            func.substr(timestamp, 12, 8, type_=Text()),
            case((micro.in_(["", "000000"]), literal("")), else_=concat(literal("."), micro)),
            literal("z"),
        )


class PostgresJson(JsonSql):
    name = "postgresql"
    _TYPES = {STRING: "string", NUMBER: "number", OBJECT: "object", ARRAY: "array", NULL: "null"}

    @staticmethod
    def _node(doc: Any, keys: Keys) -> Any:
        return doc[_check_keys(keys)] if keys else doc

    @staticmethod
    def _jsonb(text: str) -> Any:
        return cast(literal(text), JSONB)

    def document(self, doc: Any) -> Any:
        return type_coerce(doc, JSONB)

    def is_kind(self, doc: Any, keys: Keys, *kinds: str) -> ColumnElement[bool]:
        node = self._node(doc, keys)
        conditions: list[ColumnElement[bool]] = []
        types = [self._TYPES[k] for k in kinds if k in self._TYPES]
        if ABSENT in kinds:
            types.append("absent")
        if types:
            conditions.append(func.coalesce(func.jsonb_typeof(node), "absent").in_(types))
        for word in (TRUE, FALSE):
            if word in kinds:
                conditions.append(func.coalesce(node == self._jsonb(word), false()))
        return or_(*conditions)

    def text(self, doc: Any, keys: Keys) -> ColumnElement[str]:
        if keys:
            return self._node(doc, keys).astext
        return doc.op("#>>", return_type=Text())(cast(literal("{}"), PG_ARRAY(Text())))

    def nonempty(self, doc: Any, keys: Keys) -> ColumnElement[bool]:
        node = self._node(doc, keys)
        empty = [self._jsonb(v) for v in ("null", '""', "{}", "[]")]
        return func.coalesce(node.not_in(empty), false(), type_=Boolean())

    def elements(self, doc: Any, keys: Keys) -> tuple[FromClause, Any, ColumnElement[bool]]:
        node = self._node(doc, keys)
        array = case((func.jsonb_typeof(node) == "array", node), else_=self._jsonb("[]"))
        items = func.jsonb_array_elements(array).table_valued(column("value", JSONB))
        return items, items.c.value, func.jsonb_typeof(items.c.value) == "object"

    def lower(self, text: Any) -> ColumnElement[str]:
        return func.lower(text, type_=Text())

    def bytewise(self, text: Any) -> ColumnElement[str]:
        return collate(text, "C")

    def indexed_prefix(self, column: Any, prefix: str, upper: str | None) -> ColumnElement[bool]:
        # The users' indexes are in the database's collation, not code point order.
        return true()

    def iso_lower(self, timestamp: Any) -> ColumnElement[str]:
        utc = func.timezone("UTC", timestamp)
        micro = func.to_char(utc, "US", type_=Text())
        return concat(
            func.to_char(utc, 'YYYY-MM-DD"t"HH24:MI:SS', type_=Text()),
            case((micro == "000000", literal("")), else_=concat(literal("."), micro)),
            literal("z"),
        )


SQLITE = SqliteJson()
POSTGRESQL = PostgresJson()
DIALECTS: Sequence[JsonSql] = (SQLITE, POSTGRESQL)


class ByDialect(ColumnElement[bool]):
    """A condition built separately for SQLite and PostgreSQL; compiles the matching one."""

    __visit_name__ = "by_dialect"
    inherit_cache = True
    _traverse_internals = [
        ("sqlite", InternalTraversal.dp_clauseelement),
        ("postgresql", InternalTraversal.dp_clauseelement),
    ]
    type = Boolean()
    # A condition, so WHERE takes it as it is: without this, SQLite (no native
    # boolean) compiles it as ``(...) = 1``, which keeps the planner off the indexes.
    _is_implicitly_boolean = True

    def __init__(self, *, sqlite: ColumnElement[bool], postgresql: ColumnElement[bool]) -> None:
        self.sqlite = sqlite
        self.postgresql = postgresql

    @property
    def _from_objects(self) -> list[FromClause]:  # type: ignore[override]
        return self.sqlite._from_objects


@compiles(ByDialect)
def _compile_by_dialect(element: ByDialect, compiler: Any, **kw: Any) -> str:
    name = compiler.dialect.name
    if name == "postgresql":
        branch = element.postgresql
    elif name in {"sqlite", "default"}:  # "default": str() of a statement
        branch = element.sqlite
    else:
        raise CompileError(f"SCIM filters are not available on {name}")
    return f"({compiler.process(branch, **kw)})"


class ByDialectText(ByDialect):
    """A text value built separately for SQLite and PostgreSQL (for ORDER BY)."""

    inherit_cache = True
    type = Text()
    _is_implicitly_boolean = False


def sort_text(value: Any, *, fold_case: bool) -> ByDialectText:
    """``value`` as a sort key that orders alike on both databases.

    Code point order (PostgreSQL's database collation would otherwise decide),
    case folded as the filters fold it when the attribute is not caseExact.
    """

    def build(dialect: JsonSql) -> Any:
        return dialect.bytewise(dialect.lower(value) if fold_case else value)

    return ByDialectText(sqlite=build(SQLITE), postgresql=build(POSTGRESQL))
