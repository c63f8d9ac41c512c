"""SCIM filter trees → SQLAlchemy conditions on the users table.

:func:`to_sql` translates every filter construct of RFC 7644 §3.4.2.2 into one
condition with bound parameters, for SQLite and PostgreSQL alike; the
in-memory evaluator :func:`scim.filter.matches` defines the semantics and the
property tests hold the two together. The evaluator is applied to the user as
connector.services.user_resources renders it: the stored resource plus ``id``
and ``meta`` (``created``/``lastModified`` as ``...Z``; ``resourceType``;
``version``; no ``location``) and ``groups``.

Where values live:

* ``userName``, ``externalId``, ``id``: their indexed columns (``user_name_ci``
  holds the Python-lower-cased name); ``meta.created``/``meta.lastModified``:
  the timestamp columns; ``meta.version``: the version column.
* ``emails.value`` ``eq``/``sw`` (also ``ne``, and ``emails[... value eq ...]``):
  the indexed ``user_emails`` side table (see connector.queries.user_emails).
* everything else: the JSON document, core attributes at the top level and
  extension attributes under their schema URN; multi-valued attributes through
  ``json_each`` / ``jsonb_array_elements`` in EXISTS subqueries.

Case: string comparisons fold case unless the evaluator treats the attribute
as caseExact (``id``, ``externalId``, ``$ref``). Folding uses Python's
``str.lower`` on the literal and, on SQLite, on the stored side too (a function
registered per connection); on PostgreSQL ``lower()``, which follows the
database's LC_CTYPE.

Known differences from the evaluator (by design; the property tests keep away
from them):

* Date-time comparison applies to attributes of type dateTime (``meta.created``,
  ``meta.lastModified``). The evaluator also compares two ordinary strings as
  instants when both happen to parse as ISO 8601 (e.g. a ``title`` of
  ``2024-01-01T10:00:00+01:00``); SQL compares them as strings.
* PostgreSQL's ``lower()`` differs from Python's for a few characters with
  context-dependent or one-to-many lower-case mappings (final sigma, U+0130 İ)
  and, under a C/POSIX ctype, for all non-ASCII letters. ``userName`` and
  ``emails.value`` ``eq``/``sw`` are exact on both backends (folded in Python).
* Numbers: stored resources hold no JSON numbers (validation admits strings and
  booleans only), so a numeric literal matches nothing (``ne``: everything),
  as in the evaluator for such resources.
* ``groups`` is computed from group memberships and is not in the stored
  resource: a filter that mentions it returns None, and the caller evaluates it
  in memory (connector.queries.filtered_page).

Attributes missing from the User schema (core, enterprise and connector
extensions, plus ``id``, ``externalId`` and ``meta``) raise InvalidFilter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from connector.db.models import User, UserEmail

# Importing the side table's module registers its flush listener.
from connector.queries import user_emails
from connector.queries.json_sql import (
    ABSENT,
    NULL,
    OBJECT,
    POSTGRESQL,
    SQLITE,
    STRING,
    ByDialect,
    JsonSql,
    concat,
)
from scim.errors import InvalidFilter
from scim.filter import (
    CASE_EXACT_ATTRS,
    And,
    AttrRef,
    Compare,
    Expr,
    Not,
    Or,
    Present,
    Value,
    ValuePath,
    matches,
    parse_datetime,
)
from scim.schemas import COMMON_BY_NAME, CORE_USER, USER, Attribute

Condition = ColumnElement[bool]

# meta as far as it is the same for every user.
_META_CONSTANT = {"resourceType": "User"}
_MAX_EMAIL_KEY = user_emails.VALUE_CI_LENGTH


class _NeedsEvaluator(Exception):
    """The filter mentions something only the caller's representation has."""


def to_sql(expr: Expr) -> ColumnElement[bool] | None:
    """The SQL condition for ``expr`` on ``users``.

    Raises InvalidFilter for attributes the User schema does not define. Returns
    None only for filters on ``groups`` (not stored with the user), which the
    callers then evaluate in memory.
    """
    try:
        return ByDialect(
            sqlite=_Translator(SQLITE).condition(expr),
            postgresql=_Translator(POSTGRESQL).condition(expr),
        )
    except _NeedsEvaluator:
        return None


@dataclass(frozen=True)
class KeyLookup:
    """A filter that names at most one user of a source by an indexed key."""

    column: Literal["user_name_ci", "external_id"]
    key: str  # the column's value, folded as the column is


def key_lookup(expr: Expr | None) -> KeyLookup | None:
    """``userName eq "x"`` or ``externalId eq "x"`` as a :class:`KeyLookup`, else None.

    An identity provider looks a user up this way before every create, so the
    lookup gets a statement built once (``user_resources.by_key``) instead of a
    translated condition. It selects what :func:`to_sql` selects: the same
    attribute resolution, the same case rule, the same literal check.
    """
    if not isinstance(expr, Compare) or expr.op != "eq" or expr.ref.sub is not None:
        return None
    if not isinstance(expr.value, str):
        return None
    _check_literal(expr.value)
    try:
        attribute, container = _UserScope(SQLITE).attribute(expr.ref)
    except InvalidFilter:
        return None  # the general path says what is wrong
    if container:
        return None
    case_exact = _case_exact(expr.ref)
    if attribute.name == "userName" and not case_exact:
        return KeyLookup("user_name_ci", expr.value.lower())
    if attribute.name == "externalId" and case_exact:
        return KeyLookup("external_id", expr.value)
    return None


def _const(value: bool) -> Condition:
    return true() if value else false()


def _case_exact(ref: AttrRef) -> bool:
    """Exactly as the evaluator decides it (by attribute and sub-attribute name)."""
    return ref.attr.lower() in CASE_EXACT_ATTRS or (
        ref.sub is not None and ref.sub.lower() in CASE_EXACT_ATTRS
    )


def _check_literal(value: Value) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidFilter("string literals must not contain U+0000")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidFilter(f"string literal {value!r} is not valid Unicode") from exc


def _prefix_upper_bound(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix`` (None: no bound)."""
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    following = ord(stripped[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are not characters
        following = 0xE000
    return stripped[:-1] + chr(following)


# ---------------------------------------------------------------- string tests


def _string_test(sql: JsonSql, text: Any, op: str, operand: str, case_exact: bool) -> Condition:
    """``text op operand`` for a non-NULL SQL string, as the evaluator compares strings.

    When ``case_exact`` is false both sides must already be lower case.
    """
    if op == "eq":
        return text == operand
    if op in {"gt", "ge", "lt", "le"}:
        ordered = sql.bytewise(text)
        return {
            "gt": ordered > operand,
            "ge": ordered >= operand,
            "lt": ordered < operand,
            "le": ordered <= operand,
        }[op]
    if not case_exact:
        # LIKE with %, _ and the escape character escaped. Both sides are lower
        # case, so SQLite's ASCII-case-insensitive LIKE is exact here.
        return {
            "co": text.contains(operand, autoescape=True),
            "sw": text.startswith(operand, autoescape=True),
            "ew": text.endswith(operand, autoescape=True),
        }[op]
    # caseExact: SQLite's LIKE would ignore ASCII case, so compare substrings.
    if operand == "":
        return true()
    if op == "co":
        return func.replace(text, operand, "") != text
    if op == "sw":
        return func.substr(text, 1, len(operand)) == operand
    length = func.length(text)
    return and_(length >= len(operand), func.substr(text, length - len(operand) + 1) == operand)


def _folded_test(
    sql: JsonSql, text: Any, op: str, operand: str, case_exact: bool, *, folded: bool = False
) -> Condition:
    """:func:`_string_test`, lower-casing both sides unless ``case_exact``.

    ``folded``: ``text`` is lower case already (user_name_ci, rendered timestamps).
    """
    if case_exact:
        return _string_test(sql, text, op, operand, True)
    return _string_test(sql, text if folded else sql.lower(text), op, operand.lower(), False)


# ---------------------------------------------------------------- values


class _Node:
    """One value the evaluator's ``values_at`` can produce, as SQL predicates."""

    def compare(self, op: str, value: Value, case_exact: bool) -> Condition:
        """Some stored value ``op`` value; ``value`` is not None and ``op`` is not ``ne``."""
        raise NotImplementedError

    def nonnull(self) -> Condition:
        raise NotImplementedError

    def nonempty(self) -> Condition:
        raise NotImplementedError


@dataclass
class _Json(_Node):
    sql: JsonSql
    doc: Any
    keys: tuple[str, ...]

    def compare(self, op: str, value: Value, case_exact: bool) -> Condition:
        sql, doc, keys = self.sql, self.doc, self.keys
        if isinstance(value, bool):
            if op != "eq":
                return false()
            word = "true" if value else "false"
            # The evaluator also reads the strings "True"/"false"... as booleans.
            return or_(
                sql.is_kind(doc, keys, word),
                and_(sql.is_kind(doc, keys, STRING), sql.lower(sql.text(doc, keys)) == word),
            )
        if not isinstance(value, str):
            return false()  # numbers: stored resources hold strings and booleans only
        return and_(
            sql.is_kind(doc, keys, STRING),
            _folded_test(sql, sql.text(doc, keys), op, value, case_exact),
        )

    def nonnull(self) -> Condition:
        return not_(self.sql.is_kind(self.doc, self.keys, ABSENT, NULL))

    def nonempty(self) -> Condition:
        return self.sql.nonempty(self.doc, self.keys)


@dataclass
class _ValueOrSelf(_Node):
    """A complex value without a sub-attribute: its ``value`` if it has one, else itself."""

    sql: JsonSql
    doc: Any
    keys: tuple[str, ...]

    def _either(self, test: Callable[[_Node], Condition]) -> Condition:
        inner = _Json(self.sql, self.doc, (*self.keys, "value"))
        has_value = not_(self.sql.is_kind(self.doc, inner.keys, ABSENT))
        return or_(
            and_(has_value, test(inner)),
            and_(not_(has_value), test(_Json(self.sql, self.doc, self.keys))),
        )

    def compare(self, op: str, value: Value, case_exact: bool) -> Condition:
        return self._either(lambda n: n.compare(op, value, case_exact))

    def nonnull(self) -> Condition:
        return self._either(lambda n: n.nonnull())

    def nonempty(self) -> Condition:
        return self._either(lambda n: n.nonempty())


@dataclass
class _Text(_Node):
    """A string column (or expression); ``folded`` when it is already lower-cased."""

    sql: JsonSql
    expr: Any
    folded: bool = False
    nullable: bool = False

    def _guard(self, condition: Condition) -> Condition:
        return and_(self.expr.is_not(None), condition) if self.nullable else condition

    def compare(self, op: str, value: Value, case_exact: bool) -> Condition:
        if isinstance(value, bool):
            if op != "eq":
                return false()
            text = self.expr if self.folded else self.sql.lower(self.expr)
            return self._guard(text == ("true" if value else "false"))
        if not isinstance(value, str):
            return false()
        test = _folded_test(self.sql, self.expr, op, value, case_exact, folded=self.folded)
        if op == "sw" and (case_exact or self.folded) and value:
            # The same test, with a range the column's index can serve in front.
            prefix = value if case_exact else value.lower()
            upper = _prefix_upper_bound(prefix)
            test = and_(self.sql.indexed_prefix(self.expr, prefix, upper), test)
        return self._guard(test)

    def nonnull(self) -> Condition:
        return self.expr.is_not(None) if self.nullable else true()

    def nonempty(self) -> Condition:
        return self._guard(self.expr != "")


@dataclass
class _Timestamp(_Node):
    """meta.created / meta.lastModified: a UTC timestamp column."""

    sql: JsonSql
    column: Any

    def compare(self, op: str, value: Value, case_exact: bool) -> Condition:
        if not isinstance(value, str):
            return false()
        moment = parse_datetime(value)
        if moment is None or moment.tzinfo is None:
            # Not an instant comparable with the stored (offset-aware) one: the
            # evaluator compares the rendered text.
            return _folded_test(
                self.sql, self.sql.iso_lower(self.column), op, value, False, folded=True
            )
        if op in {"co", "sw", "ew"}:
            return false()
        try:
            utc = moment.astimezone(UTC)
        except OverflowError:
            # Before 0001-01-01 UTC or after 9999-12-31 UTC: beyond every stored value.
            earlier = (moment.utcoffset() or timedelta(0)) > timedelta(0)
            return _const(op in ({"gt", "ge"} if earlier else {"lt", "le"}))
        column = self.column
        return {
            "eq": column == utc,
            "gt": column > utc,
            "ge": column >= utc,
            "lt": column < utc,
            "le": column <= utc,
        }[op]

    def nonnull(self) -> Condition:
        return true()

    def nonempty(self) -> Condition:
        return true()


class _Values:
    """The values a reference reaches (the evaluator's ``values_at``)."""

    def any(self, test: Callable[[_Node], Condition]) -> Condition:
        raise NotImplementedError

    def compare(self, op: str, value: Value, case_exact: bool) -> Condition:
        return self.any(lambda n: n.compare(op, value, case_exact))


@dataclass
class _One(_Values):
    node: _Node

    def any(self, test: Callable[[_Node], Condition]) -> Condition:
        return test(self.node)


@dataclass
class _Each(_Values):
    """One value per item of a JSON array."""

    sql: JsonSql
    doc: Any
    keys: tuple[str, ...]
    item: Callable[[Any], _Node]

    def any(self, test: Callable[[_Node], Condition]) -> Condition:
        items, item_doc, _is_object = self.sql.elements(self.doc, self.keys)
        return exists(select(literal(1)).select_from(items).where(test(self.item(item_doc))))


@dataclass
class _Emails(_Each):
    """``emails.value`` (or ``emails``): ``eq`` and ``sw`` go through user_emails."""

    def compare(self, op: str, value: Value, case_exact: bool) -> Condition:
        indexed = _email_index(self.sql, op, value)
        if indexed is not None:
            return indexed
        return super().compare(op, value, case_exact)


@dataclass
class _Static(_Values):
    """Values that are the same for every user: the evaluator answers at once."""

    resource: dict[str, Any]
    ref: AttrRef

    def any(self, test: Callable[[_Node], Condition]) -> Condition:  # pragma: no cover
        raise AssertionError("static values are evaluated directly")


def _email_index(sql: JsonSql, op: str, value: Value) -> Condition | None:
    """Some e-mail value of the user ``op`` value, via user_emails, when that is exact."""
    if not isinstance(value, str):
        return None
    key = value.lower()
    rows = select(UserEmail.user_id)
    if op == "eq" and len(key) < _MAX_EMAIL_KEY:
        return User.id.in_(rows.where(UserEmail.value_ci == key))
    if op == "sw" and len(key) <= _MAX_EMAIL_KEY:
        indexed = sql.bytewise(UserEmail.value_ci)
        upper = _prefix_upper_bound(key)
        rows = rows.where(indexed >= key)
        if upper is not None:
            rows = rows.where(indexed < upper)
        return User.id.in_(rows)
    return None


def _indexed_conjunct(sql: JsonSql, expr: Expr) -> Condition | None:
    """For ``emails[...]``: a user_emails condition implied by ``expr``, if any."""
    if isinstance(expr, And):
        left = _indexed_conjunct(sql, expr.left)
        return left if left is not None else _indexed_conjunct(sql, expr.right)
    if (
        isinstance(expr, Compare)
        and expr.ref.attr.lower() == "value"
        and expr.ref.sub is None
        and expr.ref.uri is None
    ):
        return _email_index(sql, expr.op, expr.value)
    return None


# ---------------------------------------------------------------- scopes


def _unknown(name: str) -> InvalidFilter:
    return InvalidFilter(f"unknown attribute {name!r} in filter")


class _Scope:
    """Where attribute references are resolved: the user, or one item of a value filter."""

    def values(self, ref: AttrRef) -> _Values:
        raise NotImplementedError


def _meta_values(
    sql: JsonSql, sub: Attribute, static_ref: AttrRef, static: dict[str, Any]
) -> _Values:
    name = sub.name
    if name == "created":
        return _One(_Timestamp(sql, User.created_at))
    if name == "lastModified":
        return _One(_Timestamp(sql, User.updated_at))
    if name == "version":  # W/"<n>", lower-cased
        return _One(_Text(sql, _version_tag(), folded=True))
    # resourceType is "User" for everyone; location is not part of the resource.
    return _Static(static, static_ref)


def _version_tag() -> Any:
    return concat(literal('w/"'), cast(User.version, String()), literal('"'))


@dataclass
class _UserScope(_Scope):
    sql: JsonSql

    @property
    def doc(self) -> Any:
        return self.sql.document(User.resource)

    def attribute(self, ref: AttrRef) -> tuple[Attribute, tuple[str, ...]]:
        """The attribute a reference names and the JSON keys of its container."""
        core = ref.uri is None or ref.uri.lower() == CORE_USER.lower()
        if core:
            found = USER.resolve(None, ref.attr)
            return (found, ()) if found is not None else self._fail(ref)
        extension = USER.extension(ref.uri or "")
        found = extension.attribute(ref.attr) if extension is not None else None
        if extension is None or found is None:
            self._fail(ref)
        return found, (extension.id,)

    @staticmethod
    def _fail(ref: AttrRef) -> Any:
        raise _unknown(ref.dotted())

    def values(self, ref: AttrRef) -> _Values:
        sql = self.sql
        attribute, container = self.attribute(ref)
        sub: Attribute | None = None
        if ref.sub is not None:
            sub = attribute.sub(ref.sub)
            if sub is None:
                raise _unknown(ref.dotted())
        if not container and attribute.name.lower() in COMMON_BY_NAME:
            if attribute.name == "id":
                return _One(_Text(sql, User.id))
            if attribute.name == "externalId":
                return _One(_Text(sql, User.external_id, nullable=True))
            meta = {"meta": dict(_META_CONSTANT)}
            if sub is None:
                return _Static(meta, AttrRef("meta"))
            return _meta_values(sql, sub, AttrRef("meta", sub.name), meta)
        if not container and attribute.name == "userName":
            return _One(_Text(sql, User.user_name_ci, folded=True))
        if not container and attribute.name == "groups":
            raise _NeedsEvaluator
        keys = (*container, attribute.name)
        if attribute.multi_valued:
            if sub is None:
                item: Callable[[Any], _Node] = lambda doc: _ValueOrSelf(sql, doc, ())  # noqa: E731
            else:
                sub_keys = (sub.name,)
                item = lambda doc: _Json(sql, doc, sub_keys)  # noqa: E731
            indexed = keys == ("emails",) and (sub is None or sub.name == "value")
            return (_Emails if indexed else _Each)(sql, self.doc, keys, item)
        if attribute.type == "complex":
            if sub is None:
                return _One(_ValueOrSelf(sql, self.doc, keys))
            return _One(_Json(sql, self.doc, (*keys, sub.name)))
        return _One(_Json(sql, self.doc, keys))


@dataclass
class _ItemScope(_Scope):
    """Inside ``attr[...]``: references name sub-attributes of one item."""

    sql: JsonSql
    attribute: Attribute
    doc: Any
    keys: tuple[str, ...]

    def sub(self, ref: AttrRef) -> Attribute:
        found = self.attribute.sub(ref.attr) if ref.uri is None and ref.sub is None else None
        if found is None:
            raise _unknown(f"{self.attribute.name}[{ref.dotted()}]")
        return found

    def values(self, ref: AttrRef) -> _Values:
        return _One(_Json(self.sql, self.doc, (*self.keys, self.sub(ref).name)))


@dataclass
class _MetaScope(_ItemScope):
    def values(self, ref: AttrRef) -> _Values:
        sub = self.sub(ref)
        return _meta_values(self.sql, sub, AttrRef(sub.name), dict(_META_CONSTANT))


# ---------------------------------------------------------------- translation


@dataclass
class _Translator:
    sql: JsonSql

    def condition(self, expr: Expr, scope: _Scope | None = None) -> Condition:
        scope = scope or _UserScope(self.sql)
        if isinstance(expr, And):
            return and_(self.condition(expr.left, scope), self.condition(expr.right, scope))
        if isinstance(expr, Or):
            return or_(self.condition(expr.left, scope), self.condition(expr.right, scope))
        if isinstance(expr, Not):
            return not_(self.condition(expr.expr, scope))
        if isinstance(expr, Present):
            values = scope.values(expr.ref)
            if isinstance(values, _Static):
                return _const(matches(Present(values.ref), values.resource))
            return values.any(lambda n: n.nonempty())
        if isinstance(expr, Compare):
            return self.compare(scope.values(expr.ref), expr)
        if isinstance(expr, ValuePath):
            if not isinstance(scope, _UserScope):
                raise InvalidFilter(f"value filters cannot be nested ({expr.ref.dotted()}[...])")
            return self.value_path(scope, expr)
        raise InvalidFilter(f"unsupported filter element {expr!r}")  # pragma: no cover

    def compare(self, values: _Values, expr: Compare) -> Condition:
        op, value = expr.op, expr.value
        _check_literal(value)
        if isinstance(values, _Static):
            return _const(matches(Compare(values.ref, op, value), values.resource))
        case_exact = _case_exact(expr.ref)
        if op == "ne" and value is not None:
            return not_(values.compare("eq", value, case_exact))
        if value is None:
            if op == "eq":
                return not_(values.any(lambda n: n.nonnull()))
            if op == "ne":
                return values.any(lambda n: n.nonnull())
            return false()
        return values.compare(op, value, case_exact)

    def value_path(self, scope: _UserScope, expr: ValuePath) -> Condition:
        sql = self.sql
        if expr.ref.sub is not None:
            raise InvalidFilter(
                f"a value filter applies to a complex attribute, not {expr.ref.dotted()!r}"
            )
        attribute, container = scope.attribute(expr.ref)
        if attribute.type != "complex":
            raise InvalidFilter(f"{attribute.name!r} is not a complex attribute")
        if not container and attribute.name == "groups":
            raise _NeedsEvaluator
        if not container and attribute.name == "meta":
            return self.condition(expr.expr, _MetaScope(sql, attribute, None, ()))
        keys = (*container, attribute.name)
        if not attribute.multi_valued:
            inner = self.condition(expr.expr, _ItemScope(sql, attribute, scope.doc, keys))
            return and_(sql.is_kind(scope.doc, keys, OBJECT), inner)
        items, item_doc, is_object = sql.elements(scope.doc, keys)
        inner = self.condition(expr.expr, _ItemScope(sql, attribute, item_doc, ()))
        found = exists(select(literal(1)).select_from(items).where(is_object, inner))
        indexed = _indexed_conjunct(sql, expr.expr) if keys == ("emails",) else None
        return found if indexed is None else and_(indexed, found)


def in_source(source_id: int, expr: Expr | None) -> ColumnElement[bool]:
    """``users.source_id = source_id``, as the condition next to filter ``expr``.

    When the filter finds users through the e-mail index (every branch of it),
    SQLite gets the source test in a form no index serves: its planner, without
    statistics, would otherwise prefer the source's index and read every user of
    the source. PostgreSQL's planner weighs both by its statistics.
    """
    plain = User.source_id == source_id
    if expr is None or not _found_by_email(expr):
        return plain
    return ByDialect(sqlite=(User.source_id + 0) == source_id, postgresql=plain)


def _found_by_email(expr: Expr) -> bool:
    """Whether :func:`to_sql` narrows ``expr`` to the users an e-mail lookup finds."""
    if isinstance(expr, And):
        return _found_by_email(expr.left) or _found_by_email(expr.right)
    if isinstance(expr, Or):
        return _found_by_email(expr.left) and _found_by_email(expr.right)
    if not isinstance(expr, Compare | ValuePath) or not _names_emails(expr.ref):
        return False
    if isinstance(expr, ValuePath):
        return _email_conjunct(expr.expr)
    sub = expr.ref.sub
    return (sub is None or sub.lower() == "value") and _email_key(expr.op, expr.value)


def _names_emails(ref: AttrRef) -> bool:
    core = ref.uri is None or ref.uri.lower() == CORE_USER.lower()
    return core and ref.attr.lower() == "emails"


def _email_conjunct(expr: Expr) -> bool:
    if isinstance(expr, And):
        return _email_conjunct(expr.left) or _email_conjunct(expr.right)
    return (
        isinstance(expr, Compare)
        and expr.ref.attr.lower() == "value"
        and expr.ref.sub is None
        and expr.ref.uri is None
        and _email_key(expr.op, expr.value)
    )


def _email_key(op: str, value: Value) -> bool:
    """The test :func:`_email_index` answers from user_emails."""
    if not isinstance(value, str):
        return False
    length = len(value.lower())
    return (op == "eq" and length < _MAX_EMAIL_KEY) or (op == "sw" and length <= _MAX_EMAIL_KEY)
