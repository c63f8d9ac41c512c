"""The SCIM User resource (RFC 7643 §4.1, §4.3): validation for the user service.

A thin wrapper over :func:`scim.resource.validate` with :data:`scim.schemas.USER`,
kept so that callers, and the extra extensions they may declare in the older
``(type, multiValued, {sub-attribute: type})`` form, keep working.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from scim.resource import validate
from scim.schemas import USER, Attribute, ResourceType, Schema

STRING, BOOLEAN, COMPLEX, REFERENCE = "string", "boolean", "complex", "reference"

# attribute name → (type, multiValued, {sub-attribute name: type})
AttributeSpec = tuple[str, bool, dict[str, str]]


def _schema(urn: str, attributes: dict[str, AttributeSpec]) -> Schema:
    return Schema(
        urn,
        urn,
        "",
        tuple(
            Attribute(
                name,
                type=kind,
                multi_valued=multi,
                sub_attributes=tuple(Attribute(n, type=t) for n, t in subs.items()),
            )
            for name, (kind, multi, subs) in attributes.items()
        ),
    )


def _user_type(extensions: dict[str, dict[str, AttributeSpec]]) -> ResourceType:
    added = tuple((_schema(urn, attrs), False) for urn, attrs in extensions.items())
    urns = {s.id.lower() for s, _ in added}
    kept = tuple(e for e in USER.extensions if e[0].id.lower() not in urns)
    return replace(USER, extensions=(*kept, *added))


def validate_user(
    data: Any, extensions: dict[str, dict[str, AttributeSpec]] | None = None
) -> dict[str, Any]:
    """A normalised copy of a User resource, or a ScimError naming the bad attribute.

    Unlike :func:`scim.resource.validate`, a client's ``schemas`` list is ignored
    rather than checked: it is rebuilt from the extensions present, and stored
    users re-validated by the admin API's merge patch must not fail on it.
    """
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k.lower() != "schemas"}
    return validate(_user_type(extensions) if extensions else USER, data)
