"""Field catalogues and the default mapping, read from TOML data files.

The built-in files are package data (``connector/catalogues/``), read through
importlib.resources so that an installed wheel finds them wherever it runs;
a configured ``catalogue_dir`` holding the same three files replaces them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from scim.errors import ScimError
from scim.paths import parse_path

TYPES = ("text", "email", "tel")


@dataclass(frozen=True)
class Field:
    """One catalogued field. ``type`` says what its values are: "email" values are
    checked as e-mail addresses (connector.services.email_address) where an admin
    types them; "tel" and "text" are any text (the console picks its input by it)."""

    id: str
    label: str
    type: str = "text"


@dataclass(frozen=True)
class Catalogue:
    """Both columns of the field mapping plus the default pairs."""

    user_fields: tuple[Field, ...]
    contact_fields: tuple[Field, ...]
    default_rows: tuple[tuple[str, str], ...]

    @property
    def user_ids(self) -> frozenset[str]:
        return frozenset(f.id for f in self.user_fields)

    @property
    def contact_ids(self) -> frozenset[str]:
        return frozenset(f.id for f in self.contact_fields)

    def contact_ids_of_type(self, kind: str) -> tuple[str, ...]:
        return tuple(f.id for f in self.contact_fields if f.type == kind)


class CatalogueError(Exception):
    pass


def builtin_folder() -> Traversable:
    """The catalogues shipped in the package."""
    return resources.files("connector.catalogues")


def _fields(path: Traversable) -> tuple[Field, ...]:
    with path.open("rb") as handle:
        raw = tomllib.load(handle).get("field", [])
    fields = tuple(
        Field(id=str(f["id"]), label=str(f.get("label", f["id"])), type=str(f.get("type", "text")))
        for f in raw
    )
    seen: set[str] = set()
    for field in fields:
        if field.id in seen:
            raise CatalogueError(f"{path}: field {field.id!r} is listed twice")
        if field.type not in TYPES:
            raise CatalogueError(
                f"{path}: field {field.id!r} has type {field.type!r}; use one of {', '.join(TYPES)}"
            )
        seen.add(field.id)
    return fields


@lru_cache(maxsize=8)
def load_catalogue(folder: Path | None) -> Catalogue:
    """The catalogues in ``folder``, or the built-in ones when it is None."""
    return _load(builtin_folder() if folder is None else folder)


def _load(folder: Traversable) -> Catalogue:
    user_fields = _fields(folder / "user_fields.toml")
    for field in user_fields:
        try:
            parse_path(field.id)
        except ScimError as exc:
            raise CatalogueError(f"user_fields.toml: {exc.message}") from exc
    contact_fields = _fields(folder / "contact_fields.toml")
    with (folder / "default_mapping.toml").open("rb") as handle:
        rows = tuple((str(a), str(b)) for a, b in tomllib.load(handle).get("rows", []))
    return Catalogue(user_fields, contact_fields, rows)
