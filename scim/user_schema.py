"""The SCIM User resource (RFC 7643 §4.1, §4.3): attribute types and validation.

Validation checks types and required attributes and normalises the resource
(schemas listed, read-only attributes dropped, write-only ``password`` never
kept). Attribute names are matched case-insensitively and stored with the
schema's spelling.
"""

from __future__ import annotations

from typing import Any

from scim.errors import ScimError
from scim.filter import CORE_USER_URN, ENTERPRISE_URN

STRING, BOOLEAN, COMPLEX, REFERENCE = "string", "boolean", "complex", "reference"

# attribute → (type, multiValued, sub-attributes {name: type})
_MULTI_SUBS = {"value": STRING, "display": STRING, "type": STRING, "primary": BOOLEAN}
CORE_ATTRIBUTES: dict[str, tuple[str, bool, dict[str, str]]] = {
    "userName": (STRING, False, {}),
    "externalId": (STRING, False, {}),
    "name": (
        COMPLEX,
        False,
        {
            k: STRING
            for k in (
                "formatted",
                "familyName",
                "givenName",
                "middleName",
                "honorificPrefix",
                "honorificSuffix",
            )
        },
    ),
    "displayName": (STRING, False, {}),
    "nickName": (STRING, False, {}),
    "profileUrl": (REFERENCE, False, {}),
    "title": (STRING, False, {}),
    "userType": (STRING, False, {}),
    "preferredLanguage": (STRING, False, {}),
    "locale": (STRING, False, {}),
    "timezone": (STRING, False, {}),
    "active": (BOOLEAN, False, {}),
    "emails": (COMPLEX, True, _MULTI_SUBS),
    "phoneNumbers": (COMPLEX, True, _MULTI_SUBS),
    "ims": (COMPLEX, True, _MULTI_SUBS),
    "photos": (COMPLEX, True, _MULTI_SUBS),
    "addresses": (
        COMPLEX,
        True,
        {
            "formatted": STRING,
            "streetAddress": STRING,
            "locality": STRING,
            "region": STRING,
            "postalCode": STRING,
            "country": STRING,
            "type": STRING,
            "primary": BOOLEAN,
        },
    ),
    "entitlements": (COMPLEX, True, _MULTI_SUBS),
    "roles": (COMPLEX, True, _MULTI_SUBS),
    "x509Certificates": (COMPLEX, True, _MULTI_SUBS),
}
# Dropped from input (lower-cased names): read-only, write-only, and ``schemas``,
# which is rebuilt from the extensions present.
DROPPED = frozenset({"id", "meta", "groups", "password", "schemas"})
ENTERPRISE_ATTRIBUTES: dict[str, tuple[str, bool, dict[str, str]]] = {
    "employeeNumber": (STRING, False, {}),
    "costCenter": (STRING, False, {}),
    "organization": (STRING, False, {}),
    "division": (STRING, False, {}),
    "department": (STRING, False, {}),
    "manager": (COMPLEX, False, {"value": STRING, "$ref": REFERENCE, "displayName": STRING}),
}


def _invalid(message: str) -> ScimError:
    return ScimError(message, scim_type="invalidValue")


def _canonical(name: str, known: dict[str, Any]) -> str | None:
    lowered = name.lower()
    return next((k for k in known if k.lower() == lowered), None)


def _check_scalar(where: str, kind: str, value: Any) -> Any:
    if kind == BOOLEAN:
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"  # Entra ID sends "True"/"False"
        if not isinstance(value, bool):
            raise _invalid(f"'{where}' must be true or false (got {value!r})")
        return value
    if not isinstance(value, str):
        raise _invalid(f"'{where}' must be a string (got {value!r})")
    return value


def _check_complex(where: str, subs: dict[str, str], value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"'{where}' must be an object (got {value!r})")
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = _canonical(key, subs)
        if name is None:
            raise _invalid(f"'{where}.{key}' is not a known sub-attribute")
        if item is not None:
            out[name] = _check_scalar(f"{where}.{name}", subs[name], item)
    return out


def _check_attributes(
    data: dict[str, Any], known: dict[str, tuple[str, bool, dict[str, str]]], prefix: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = _canonical(key, known)
        where = f"{prefix}{name or key}"
        if name is None:
            raise _invalid(f"'{where}' is not an attribute of the User schema")
        if value is None:
            continue
        kind, multi, subs = known[name]
        if multi:
            if not isinstance(value, list):
                raise _invalid(f"'{where}' must be a list")
            items = [_check_complex(f"{where}[{i}]", subs, v) for i, v in enumerate(value)]
            if sum(1 for i in items if i.get("primary") is True) > 1:
                raise _invalid(f"'{where}' has more than one primary value")
            if items:
                out[name] = items
        elif kind == COMPLEX:
            checked = _check_complex(where, subs, value)
            if checked:
                out[name] = checked
        else:
            out[name] = _check_scalar(where, kind, value)
    return out


def validate_user(
    data: Any, extensions: dict[str, dict[str, tuple[str, bool, dict[str, str]]]] | None = None
) -> dict[str, Any]:
    """A normalised copy of a User resource, or a ScimError naming the bad attribute."""
    if not isinstance(data, dict):
        raise ScimError("a User must be a JSON object", scim_type="invalidSyntax")
    schemas_by_urn = {ENTERPRISE_URN: ENTERPRISE_ATTRIBUTES, **(extensions or {})}
    core: dict[str, Any] = {}
    extension_data: dict[str, Any] = {}
    for key, value in data.items():
        if key.lower() in DROPPED:
            continue
        urn = _canonical(key, schemas_by_urn)
        if urn is not None:
            if not isinstance(value, dict):
                raise _invalid(f"'{key}' must be an object")
            checked = _check_attributes(value, schemas_by_urn[urn], f"{urn}:")
            if checked:
                extension_data[urn] = checked
        else:
            core[key] = value
    result = _check_attributes(core, CORE_ATTRIBUTES, "")
    user_name = result.get("userName")
    if not isinstance(user_name, str) or not user_name.strip():
        raise _invalid("'userName' is required and must not be empty")
    result["userName"] = user_name.strip()
    result["schemas"] = [CORE_USER_URN, *sorted(extension_data)]
    result.update(extension_data)
    return result
