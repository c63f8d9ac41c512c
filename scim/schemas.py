"""SCIM schema definitions (RFC 7643 §4, §7, §8.7) with attribute characteristics.

One source of truth for validation, projection (``returned``), PATCH
(``mutability``, ``multiValued``), filtering (``caseExact``, ``type``) and the
discovery endpoints (/Schemas, /ResourceTypes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# The connector's own extension: lets an IdP set the sync switch per user.
CONNECTOR_USER = "urn:ietf:params:scim:schemas:extension:connector:2.0:User"
SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SERVICE_PROVIDER_CONFIG_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    sub_attributes: tuple[Attribute, ...] = ()
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    description: str = ""

    def sub(self, name: str) -> Attribute | None:
        return self._subs_by_name.get(name.lower())

    @cached_property
    def subs_returned_by_default(self) -> bool:
        """Every sub-attribute is in a default response (none ``never`` or ``request``)."""
        return all(a.returned in ("default", "always") for a in self.sub_attributes)

    @cached_property
    def _subs_by_name(self) -> dict[str, Attribute]:
        """Sub-attributes by lower-cased name (the first of a name wins, as a scan would)."""
        found: dict[str, Attribute] = {}
        for a in self.sub_attributes:
            found.setdefault(a.name.lower(), a)
        return found

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description or self.name,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.type == "complex":
            out["subAttributes"] = [a.to_json() for a in self.sub_attributes]
        if self.canonical_values:
            out["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            out["referenceTypes"] = list(self.reference_types)
        return out


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]

    def attribute(self, name: str) -> Attribute | None:
        return self._by_name.get(name.lower())

    @cached_property
    def _by_name(self) -> dict[str, Attribute]:
        """Attributes by lower-cased name (looked up for every value of every resource)."""
        found: dict[str, Attribute] = {}
        for a in self.attributes:
            found.setdefault(a.name.lower(), a)
        return found

    def to_json(self, base_url: str = "") -> dict[str, Any]:
        return {
            "schemas": [SCHEMA_URN],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_json() for a in self.attributes],
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{self.id}"},
        }


@dataclass(frozen=True)
class ResourceType:
    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[tuple[Schema, bool], ...] = field(default=())

    @property
    def schema_ids(self) -> tuple[str, ...]:
        return (self.schema.id, *(s.id for s, _ in self.extensions))

    def extension(self, urn: str) -> Schema | None:
        return self._extensions_by_id.get(urn.lower())

    @cached_property
    def _extensions_by_id(self) -> dict[str, Schema]:
        found: dict[str, Schema] = {}
        for schema, _ in self.extensions:
            found.setdefault(schema.id.lower(), schema)
        return found

    def resolve(self, uri: str | None, attr: str, sub: str | None = None) -> Attribute | None:
        """The attribute a (URN, name, sub-attribute) reference names, or None."""
        schema = (
            self.schema
            if uri is None or uri.lower() == self.schema.id.lower()
            else (self.extension(uri))
        )
        if schema is None:
            return None
        found = schema.attribute(attr) or (
            COMMON_BY_NAME.get(attr.lower()) if uri is None else None
        )
        if found is None or sub is None:
            return found
        return found.sub(sub)

    def to_json(self, base_url: str = "") -> dict[str, Any]:
        return {
            "schemas": [RESOURCE_TYPE_URN],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": [{"schema": s.id, "required": r} for s, r in self.extensions],
            "meta": {
                "resourceType": "ResourceType",
                "location": f"{base_url}/ResourceTypes/{self.name}",
            },
        }


def _s(name: str, **kw: Any) -> Attribute:
    return Attribute(name, **kw)


def _multi(
    name: str,
    *,
    value_type: str = "string",
    types: tuple[str, ...] = (),
    ref_types: tuple[str, ...] = (),
    description: str = "",
) -> Attribute:
    """The standard shape of a multi-valued attribute: value, display, type, primary."""
    value = (
        _s("value", type=value_type, reference_types=ref_types)
        if ref_types
        else _s("value", type=value_type)
    )
    return Attribute(
        name,
        type="complex",
        multi_valued=True,
        description=description,
        sub_attributes=(
            value,
            _s("display"),
            _s("type", canonical_values=types),
            _s("primary", type="boolean"),
        ),
    )


COMMON_ATTRIBUTES = (
    _s("id", case_exact=True, mutability="readOnly", returned="always", uniqueness="server"),
    _s("externalId", case_exact=True),
    Attribute(
        "meta",
        type="complex",
        mutability="readOnly",
        sub_attributes=(
            _s("resourceType", case_exact=True, mutability="readOnly"),
            _s("created", type="dateTime", mutability="readOnly"),
            _s("lastModified", type="dateTime", mutability="readOnly"),
            _s("location", type="reference", mutability="readOnly", reference_types=("uri",)),
            _s("version", case_exact=True, mutability="readOnly"),
        ),
    ),
)
COMMON_BY_NAME = {a.name.lower(): a for a in COMMON_ATTRIBUTES}

USER_SCHEMA = Schema(
    CORE_USER,
    "User",
    "User Account",
    (
        _s("userName", required=True, uniqueness="server", returned="always"),
        Attribute(
            "name",
            type="complex",
            sub_attributes=tuple(
                _s(n)
                for n in (
                    "formatted",
                    "familyName",
                    "givenName",
                    "middleName",
                    "honorificPrefix",
                    "honorificSuffix",
                )
            ),
        ),
        _s("displayName"),
        _s("nickName"),
        _s("profileUrl", type="reference", reference_types=("external",)),
        _s("title"),
        _s("userType"),
        _s("preferredLanguage"),
        _s("locale"),
        _s("timezone"),
        _s("active", type="boolean"),
        _s("password", mutability="writeOnly", returned="never"),
        _multi("emails", types=("work", "home", "other")),
        _multi("phoneNumbers", types=("work", "home", "mobile", "fax", "pager", "other")),
        _multi("ims", types=("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
        _multi(
            "photos", value_type="reference", types=("photo", "thumbnail"), ref_types=("external",)
        ),
        Attribute(
            "addresses",
            type="complex",
            multi_valued=True,
            sub_attributes=(
                *(
                    _s(n)
                    for n in (
                        "formatted",
                        "streetAddress",
                        "locality",
                        "region",
                        "postalCode",
                        "country",
                    )
                ),
                _s("type", canonical_values=("work", "home", "other")),
                _s("primary", type="boolean"),
            ),
        ),
        Attribute(
            "groups",
            type="complex",
            multi_valued=True,
            mutability="readOnly",
            sub_attributes=(
                _s("value", mutability="readOnly"),
                _s(
                    "$ref",
                    type="reference",
                    mutability="readOnly",
                    reference_types=("User", "Group"),
                ),
                _s("display", mutability="readOnly"),
                _s("type", mutability="readOnly", canonical_values=("direct", "indirect")),
            ),
        ),
        _multi("entitlements"),
        _multi("roles"),
        _multi("x509Certificates", value_type="binary"),
    ),
)

ENTERPRISE_USER_SCHEMA = Schema(
    ENTERPRISE_USER,
    "EnterpriseUser",
    "Enterprise User",
    (
        _s("employeeNumber"),
        _s("costCenter"),
        _s("organization"),
        _s("division"),
        _s("department"),
        Attribute(
            "manager",
            type="complex",
            sub_attributes=(
                _s("value"),
                _s("$ref", type="reference", reference_types=("User",)),
                _s("displayName", mutability="readOnly"),
            ),
        ),
    ),
)

CONNECTOR_USER_SCHEMA = Schema(
    CONNECTOR_USER,
    "ConnectorUser",
    "Provisioning connector settings of a user",
    (
        _s(
            "syncToContact",
            type="boolean",
            description="Synchronise this user to the contacts module; overrides the "
            "source's sync scope.",
        ),
    ),
)

GROUP_SCHEMA = Schema(
    CORE_GROUP,
    "Group",
    "Group",
    (
        _s("displayName", required=True),
        Attribute(
            "members",
            type="complex",
            multi_valued=True,
            sub_attributes=(
                _s("value", mutability="immutable"),
                _s(
                    "$ref",
                    type="reference",
                    mutability="immutable",
                    reference_types=("User", "Group"),
                ),
                _s("display", mutability="readOnly"),
                _s("type", mutability="immutable", canonical_values=("User", "Group")),
            ),
        ),
    ),
)

USER = ResourceType(
    "User",
    "/Users",
    "User Account",
    USER_SCHEMA,
    ((ENTERPRISE_USER_SCHEMA, False), (CONNECTOR_USER_SCHEMA, False)),
)
GROUP = ResourceType("Group", "/Groups", "Group", GROUP_SCHEMA)
RESOURCE_TYPES = (USER, GROUP)
SCHEMAS = (USER_SCHEMA, ENTERPRISE_USER_SCHEMA, CONNECTOR_USER_SCHEMA, GROUP_SCHEMA)
