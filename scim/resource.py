"""Schema-driven validation of SCIM resources (RFC 7643 §2, §7; RFC 7644 §3.3, §3.5.1).

One validator for every resource type, driven by :mod:`scim.schemas`, so the
characteristics advertised on /Schemas are the ones enforced. The result is the
form the connector stores: schema spelling, no read-only or write-only data, no
nulls or empty containers, and ``schemas`` rebuilt from the extensions present.
"""

from __future__ import annotations

import binascii
import math
import re
from base64 import b64decode
from datetime import datetime
from typing import Any

from scim.errors import ScimError
from scim.json_copy import copy_json
from scim.schemas import (
    COMMON_ATTRIBUTES,
    COMMON_BY_NAME,
    CORE_GROUP,
    ENTERPRISE_USER,
    Attribute,
    ResourceType,
    Schema,
)

# RFC 7643 §4.3 makes manager.displayName readOnly: a provider fills it in from the
# manager's resource. The connector does not resolve managers, so the IdP's copy is
# the only source for the default "manager" mapping (config/default_mapping.toml).
CLIENT_READ_ONLY = frozenset({(ENTERPRISE_USER, "manager", "displayName")})
# A member is identified by its ``value`` (RFC 7643 §4.2); schemas.py does not mark
# it required, so the rule lives here.
ITEM_VALUE_REQUIRED = frozenset({(CORE_GROUP, "members")})
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?", re.I)
_ABSENT: Any = object()


def _invalid(message: str) -> ScimError:
    return ScimError(message, scim_type="invalidValue")


def _get(obj: Any, name: str) -> Any:
    """``obj[name]`` with the name matched case-insensitively; None when absent.

    The exact name first: what this reads (a stored resource, a checked item) is
    spelled as the schema spells it, with no second key differing in case only."""
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    lowered = name.lower()
    return next((v for k, v in obj.items() if k.lower() == lowered), None)


def _ignored(attr: Attribute, key: tuple[str, ...]) -> bool:
    """Client input the provider must ignore (readOnly) or must not keep (writeOnly)."""
    if attr.mutability == "writeOnly":
        return True  # the connector has no use for secrets; never store or log them
    return attr.mutability == "readOnly" and key not in CLIENT_READ_ONLY


def _is_datetime(text: str) -> bool:
    if not _DATETIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.upper())
    except ValueError:
        return False
    return True


def _is_base64(text: str) -> bool:
    try:
        b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _scalar(attr: Attribute, value: Any, where: str) -> Any:
    kind = attr.type
    if kind == "boolean":
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"  # Entra ID sends "True"/"False"
        if not isinstance(value, bool):
            raise _invalid(f"'{where}' must be true or false (got {value!r})")
        return value
    if kind in {"integer", "decimal"}:
        number = int if kind == "integer" else (int, float)
        if (
            isinstance(value, bool)
            or not isinstance(value, number)
            or (isinstance(value, float) and not math.isfinite(value))
        ):
            raise _invalid(f"'{where}' must be a JSON number of type {kind} (got {value!r})")
        return value
    if not isinstance(value, str):
        raise _invalid(f"'{where}' must be a string (got {value!r})")
    if kind == "dateTime" and not _is_datetime(value):
        raise _invalid(f"'{where}' must be a dateTime like 2008-01-23T04:56:22Z (got {value!r})")
    if kind == "binary" and not _is_base64(value):
        raise _invalid(f"'{where}' must be base64-encoded binary")
    return value


def _single(attr: Attribute, value: Any, where: str, owner: str) -> Any:
    if attr.type != "complex":
        return _scalar(attr, value, where)
    if not isinstance(value, dict):
        raise _invalid(f"'{where}' must be an object (got {value!r})")
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = attr.sub(key)
        if sub is None:
            raise _invalid(f"'{where}.{key}' is not a known sub-attribute")
        if sub.name in out:
            raise _invalid(f"'{where}.{sub.name}' is given more than once")
        if _ignored(sub, (owner, attr.name, sub.name)):
            continue
        checked = _value(sub, item, f"{where}.{sub.name}", owner)
        if checked is not _ABSENT:
            out[sub.name] = checked
    required = [s.name for s in attr.sub_attributes if s.required]
    if attr.multi_valued and (owner, attr.name) in ITEM_VALUE_REQUIRED:
        required.append("value")
    for name in required:
        if out.get(name) in (None, ""):
            raise _invalid(f"'{where}.{name}' is required")
    return out or _ABSENT


def _value(attr: Attribute, value: Any, where: str, owner: str) -> Any:
    """The checked value, or _ABSENT for null and empty containers."""
    if value is None:
        return _ABSENT
    if not attr.multi_valued:
        return _single(attr, value, where, owner)
    if not isinstance(value, list):
        raise _invalid(f"'{where}' must be a list (got {value!r})")
    checked = [
        _single(attr, item, f"{where}[{i}]", owner)
        for i, item in enumerate(value)
        if item is not None
    ]
    items = [item for item in checked if item is not _ABSENT]
    if sum(isinstance(i, dict) and i.get("primary") is True for i in items) > 1:
        raise _invalid(f"'{where}' has more than one primary value")
    return items or _ABSENT


def _attributes(
    schema: Schema, pairs: list[tuple[str, Any]], prefix: str, *, common: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    seen: set[str] = set()
    for key, value in pairs:
        attr = schema.attribute(key) or (COMMON_BY_NAME.get(key.lower()) if common else None)
        if attr is None:
            raise _invalid(f"'{prefix}{key}' is not an attribute of the {schema.name} schema")
        where = prefix + attr.name
        if attr.name in seen:
            raise _invalid(f"'{where}' is given more than once")
        seen.add(attr.name)
        if _ignored(attr, (schema.id, attr.name)):
            continue
        checked = _value(attr, value, where, schema.id)
        if checked is not _ABSENT:
            out[attr.name] = checked
    return out


def _require(schema: Schema, found: dict[str, Any], prefix: str) -> None:
    for attr in schema.attributes:
        if not attr.required or attr.mutability == "readOnly":
            continue
        value = found.get(attr.name)
        if isinstance(value, str):
            value = found[attr.name] = value.strip()
        if value is None or value == "":
            raise _invalid(f"'{prefix}{attr.name}' is required and must not be empty")


def _canon(attr: Attribute, value: Any) -> Any:
    """A comparable form of a value: caseExact honoured, list order ignored."""
    if isinstance(value, list):
        return sorted(repr(_canon(attr, item)) for item in value)
    if isinstance(value, dict):
        return {k.lower(): _canon(attr.sub(k) or Attribute(k), v) for k, v in value.items()}
    if isinstance(value, str) and not attr.case_exact:
        return value.casefold()
    return value


def _mutability(where: str, before: Any, after: Any) -> ScimError:
    return ScimError(
        f"'{where}' is immutable and cannot change from {before!r} to {after!r}",
        scim_type="mutability",
    )


def _check_subs(attr: Attribute, before: Any, after: Any, where: str) -> None:
    """Immutable sub-attributes: within one object, or per item matched by ``value``."""
    immutable = [s for s in attr.sub_attributes if s.mutability == "immutable"]
    if not immutable:
        return
    pairs: list[tuple[Any, Any]] = []
    if not attr.multi_valued:
        pairs = [(before, after)]
    elif (key := attr.sub("value")) is not None and isinstance(before, list):
        old = {repr(_canon(key, _get(i, "value"))): i for i in before if _get(i, "value")}
        pairs = [(old.get(repr(_canon(key, item.get("value")))), item) for item in after]
    for old_item, new_item in pairs:
        for sub in immutable:
            was, now = _get(old_item, sub.name), _get(new_item, sub.name)
            if was is not None and now is not None and _canon(sub, was) != _canon(sub, now):
                raise _mutability(f"{where}.{sub.name}", was, now)


def _check_existing(
    schema: Schema, new: dict[str, Any], old: Any, prefix: str, *, common: bool
) -> None:
    """RFC 7644 §3.5.1: immutable values are set once; an omitted one is kept.

    Only immutable values are compared, so readOnly ones (id, meta) never conflict.
    """
    for attr in (*schema.attributes, *(COMMON_ATTRIBUTES if common else ())):
        before, after = _get(old, attr.name), new.get(attr.name)
        if before is None:
            continue
        if attr.mutability == "immutable":
            if after is None:
                new[attr.name] = copy_json(before)
            elif _canon(attr, before) != _canon(attr, after):
                raise _mutability(prefix + attr.name, before, after)
        elif attr.type == "complex" and after is not None:
            _check_subs(attr, before, after, prefix + attr.name)


def _check_schemas(resource_type: ResourceType, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
        raise _invalid(f"'schemas' must be a list of schema URNs (got {value!r})")
    known = {urn.lower() for urn in resource_type.schema_ids}
    for urn in value:
        if urn.lower() not in known:
            raise _invalid(
                f"'schemas' lists '{urn}', which the {resource_type.name} resource type "
                "does not use"
            )


def validate(
    resource_type: ResourceType, data: Any, *, existing: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A normalised copy of ``data``, or a ScimError naming the offending attribute.

    ``existing`` is the stored resource a PUT replaces: immutable attributes must
    keep their value (scimType "mutability") and are carried over when omitted.
    """
    if not isinstance(data, dict):
        raise ScimError(f"a {resource_type.name} must be a JSON object", scim_type="invalidSyntax")
    core: list[tuple[str, Any]] = []
    nested: dict[str, list[tuple[str, Any]]] = {s.id: [] for s, _ in resource_type.extensions}
    for key, value in data.items():
        extension = resource_type.extension(key)
        if key.lower() == "schemas":
            _check_schemas(resource_type, value)
        elif extension is not None:
            if value is not None and not isinstance(value, dict):
                raise _invalid(f"'{extension.id}' must be an object (got {value!r})")
            nested[extension.id].extend((value or {}).items())
        elif key.lower().startswith("urn:"):
            raise _invalid(
                f"'{key}' is not a schema extension of the {resource_type.name} resource type"
            )
        else:
            core.append((key, value))
    result = _attributes(resource_type.schema, core, "", common=True)
    extensions: dict[str, dict[str, Any]] = {}
    for schema, required in resource_type.extensions:
        found = _attributes(schema, nested[schema.id], f"{schema.id}:", common=False)
        if existing is not None:
            _check_existing(schema, found, _get(existing, schema.id), f"{schema.id}:", common=False)
        if found:
            _require(schema, found, f"{schema.id}:")
            extensions[schema.id] = found
        elif required:
            raise _invalid(f"the {resource_type.name} resource type requires '{schema.id}'")
    if existing is not None:
        _check_existing(resource_type.schema, result, existing, "", common=True)
    _require(resource_type.schema, result, "")
    return {"schemas": [resource_type.schema.id, *sorted(extensions)], **result, **extensions}
