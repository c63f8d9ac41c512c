"""The mapping engine: pure functions of (user, mapping, catalogue).

A mapping is an ordered list of (user field → contact field) pairs. User fields
are SCIM attribute paths on the canonical user; contact fields are ids of the
contacts module's catalogue. Nothing here touches storage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connector.catalogue import Catalogue
from scim.paths import compile_getter, set_value


@dataclass(frozen=True)
class MappingRow:
    user_field: str
    contact_field: str

    def to_json(self) -> dict[str, str]:
        return {"userField": self.user_field, "contactField": self.contact_field}


@dataclass(frozen=True)
class CurrentMapping:
    """The mapping in force: its version (links record it) and its rows."""

    version: int
    rows: tuple[MappingRow, ...]

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "rows": [r.to_json() for r in self.rows]}


class MappingError(ValueError):
    """A mapping that cannot be saved; names the offending row (1-based) and field."""

    def __init__(self, message: str, *, row: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.row = row
        self.field = field


def rows_from_json(raw: Any) -> list[MappingRow]:
    """Parse the API shape ``[{"userField", "contactField"}, …]`` strictly."""
    if not isinstance(raw, list):
        raise MappingError("'rows' must be a list of {userField, contactField} objects")
    rows = []
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or set(item) != {"userField", "contactField"}:
            raise MappingError(
                f"row {number}: expected exactly the keys userField and contactField",
                row=number,
            )
        user_field, contact_field = item["userField"], item["contactField"]
        if not isinstance(user_field, str) or not isinstance(contact_field, str):
            raise MappingError(f"row {number}: field ids must be strings", row=number)
        rows.append(MappingRow(user_field, contact_field))
    return rows


def validate(rows: Iterable[MappingRow], catalogue: Catalogue) -> tuple[MappingRow, ...]:
    """Check a mapping against the catalogues; the first problem raises MappingError."""
    checked: list[MappingRow] = []
    user_seen: dict[str, int] = {}
    contact_seen: dict[str, int] = {}
    user_ids, contact_ids = catalogue.user_ids, catalogue.contact_ids
    for number, row in enumerate(rows, start=1):
        if row.user_field not in user_ids:
            raise MappingError(
                f"row {number}: unknown user field {row.user_field!r}",
                row=number,
                field=row.user_field,
            )
        if row.contact_field not in contact_ids:
            raise MappingError(
                f"row {number}: unknown contact field {row.contact_field!r}",
                row=number,
                field=row.contact_field,
            )
        if row.user_field in user_seen:
            raise MappingError(
                f"row {number}: user field {row.user_field!r} is already mapped "
                f"in row {user_seen[row.user_field]}",
                row=number,
                field=row.user_field,
            )
        if row.contact_field in contact_seen:
            raise MappingError(
                f"row {number}: contact field {row.contact_field!r} is already mapped "
                f"in row {contact_seen[row.contact_field]}",
                row=number,
                field=row.contact_field,
            )
        user_seen[row.user_field] = number
        contact_seen[row.contact_field] = number
        checked.append(row)
    return tuple(checked)


def _as_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return None
    return str(value)


def apply(user: Mapping[str, Any], rows: Iterable[MappingRow]) -> dict[str, str]:
    """The contact fields a user produces: only mapped fields, empty ones left out.

    ``user`` is a stored (normalised) SCIM User: attribute names in schema spelling.
    """
    fields: dict[str, str] = {}
    resource = dict(user)
    for row in rows:
        text = _as_text(compile_getter(row.user_field)(resource))
        if text is not None:
            fields[row.contact_field] = text
    return fields


SORT_FIELDS = ("lastName", "firstName", "displayName", "company", "email")


def search_text(fields: Mapping[str, Any]) -> str:
    """Lower-cased values for search; name fields first so that it also sorts the book."""
    first = [fields.get(k) for k in SORT_FIELDS]
    rest = [v for k, v in fields.items() if k not in SORT_FIELDS]
    return " ".join(str(v) for v in (*first, *rest) if v).lower()


def email_sort_key(fields: Mapping[str, Any]) -> str:
    """The contact's e-mail as a sort key: "0" and the lower-cased address, or "1"
    when it has none, so contacts without an address sort after every address
    (ascending) with one index serving both orders."""
    email = fields.get("email")
    return f"0{str(email).lower()}" if email else "1"


def sort_columns(fields: Mapping[str, Any]) -> dict[str, str]:
    """The contact columns derived from its fields, for search and sorting."""
    return {"search_text": search_text(fields), "sort_email": email_sort_key(fields)}


def invert(
    contact_fields: Mapping[str, Any], rows: Iterable[MappingRow], user: Mapping[str, Any]
) -> dict[str, Any]:
    """The user after taking every mapped field's value from the contact.

    Used when the contact is the data source: a contact field that is empty
    clears the mapped user field; unmapped user fields are left alone.
    """
    resource: dict[str, Any] = dict(user)
    for row in rows:
        resource = set_value(resource, row.user_field, contact_fields.get(row.contact_field))
    return resource
