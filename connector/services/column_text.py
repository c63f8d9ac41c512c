"""Text bound for a length-limited column, checked before the database sees it.

SQLite stores a string of any length in a ``String(N)`` column and PostgreSQL
refuses it with an error: so that both accept and refuse the same values, every
service that writes input into such a column asks :func:`check` first, with the
column itself (its length comes from connector.db.models, nowhere else). The
text rule of scim.input_limits (no NUL, no lone surrogate) is checked too, for
writers that do not come through a JSON body (the CLI, a directory).
"""

from __future__ import annotations

from typing import Any

from connector.errors import InvalidInput
from scim.input_limits import text_problem, unstorable_message


def max_length(column: Any) -> int | None:
    """The length of a ``String(N)`` model attribute (``User.user_name``), None if unbounded."""
    return getattr(column.property.columns[0].type, "length", None)


def check(column: Any, value: str | None, field: str, *, lowered: bool = False) -> None:
    """InvalidInput naming ``field`` when ``value`` cannot be stored in ``column``;
    ``lowered``: the column holds ``value.lower()`` (which may be longer: "İ")."""
    if value is None:
        return
    problem = text_problem(value)
    if problem is not None:
        raise InvalidInput(unstorable_message(field, problem), field=field)
    limit = max_length(column)
    stored = value.lower() if lowered else value
    if limit is not None and len(stored) > limit:
        how = " once lower-cased" if lowered and len(stored) != len(value) else ""
        raise InvalidInput(
            f"{field!r} is {len(stored)} characters long{how}; at most {limit} are allowed",
            field=field,
        )
