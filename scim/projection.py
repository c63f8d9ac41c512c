"""Which attributes a response carries (RFC 7643 §7 ``returned``; RFC 7644 §3.4.2.5).

``attributes`` replaces the default set; ``excludedAttributes`` removes from it.
When both are given, ``attributes`` wins: the default set that
``excludedAttributes`` trims is not used at all then. ``returned: always``
attributes (``id``, ``userName``) and ``schemas`` are in every response,
``returned: never`` ones (``password``) in none. Unknown paths match nothing
rather than fail, as clients probe with attributes the provider may not have.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scim.schemas import Attribute, ResourceType

_UNKNOWN = Attribute("unknown")


@dataclass(frozen=True)
class _Path:
    """A parsed attribute path, lower-cased; ``attr`` None names a whole schema."""

    schema: str
    attr: str | None
    sub: str | None

    def names(self, schema: str, attr: str) -> bool:
        return self.schema == schema and self.attr in (None, attr)

    def whole(self, schema: str, attr: str) -> bool:
        return self.names(schema, attr) and (self.attr is None or self.sub is None)

    def names_sub(self, schema: str, attr: str, sub: str) -> bool:
        return self.whole(schema, attr) or (self.names(schema, attr) and self.sub == sub)


def parse_attribute_list(text: str | None) -> list[str] | None:
    """The paths of a comma-separated ``attributes`` parameter; None when there are none."""
    paths = [p.strip() for p in (text or "").split(",") if p.strip()]
    return paths or None


def _parse(resource_type: ResourceType, path: str) -> _Path:
    text = path.strip().lower()
    core = resource_type.schema.id.lower()
    for urn in sorted((u.lower() for u in resource_type.schema_ids), key=len, reverse=True):
        if text == urn:
            return _Path(urn, None, None)
        if text.startswith(urn + ":"):
            attr, _, sub = text[len(urn) + 1 :].partition(".")
            return _Path(urn, attr, sub or None)
    attr, _, sub = text.partition(".")
    return _Path(core, attr, sub or None)


def _returned(
    attr: Attribute, schema: str, name: str, include: list[_Path] | None, exclude: list[_Path]
) -> bool:
    if attr.returned in {"always", "never"}:
        return attr.returned == "always"
    if include is not None:  # replaces the default set, so ``exclude`` has nothing to trim
        return any(p.names(schema, name) for p in include)
    return attr.returned == "default" and not any(p.whole(schema, name) for p in exclude)


def _sub_returned(
    sub: Attribute,
    where: tuple[str, str, str],
    include: list[_Path] | None,
    exclude: list[_Path],
) -> bool:
    if sub.returned in {"always", "never"}:
        return sub.returned == "always"
    if include is not None:
        return any(p.names_sub(*where) for p in include)
    return sub.returned == "default" and not any(
        p.names(*where[:2]) and p.sub == where[2] for p in exclude
    )


def _shape(
    attr: Attribute,
    value: Any,
    where: tuple[str, str],
    include: list[_Path] | None,
    exclude: list[_Path],
) -> Any:
    """A copy of ``value`` with only the sub-attributes to return.

    None when projection emptied it; a value that was empty already (``members: []``)
    is returned as stored.
    """
    if (
        include is None
        and not exclude
        and attr.subs_returned_by_default
        and not (isinstance(value, list) and None in value)
    ):
        # The default shape keeps every sub-attribute (unknown ones too): nothing to
        # take out, so a large member list is not walked item by item.
        return value
    if isinstance(value, list):
        items = [_shape(attr, item, where, include, exclude) for item in value]
        kept = [item for item in items if item is not None]
        return kept if kept or not value else None
    if not isinstance(value, dict):
        return value
    out = {
        key: item
        for key, item in value.items()
        if _sub_returned(attr.sub(key) or _UNKNOWN, (*where, key.lower()), include, exclude)
    }
    return out if out or not value else None


def _project_attribute(
    attr: Attribute,
    value: Any,
    where: tuple[str, str],
    include: list[_Path] | None,
    exclude: list[_Path],
) -> Any:
    """The returned part of one attribute's value, or None when it is left out."""
    if not _returned(attr, *where, include, exclude):
        return None
    if attr.returned == "always":
        include, exclude = None, []  # the whole default shape, whatever was asked
    return _shape(attr, value, where, include, exclude)


# What the default shape (no ``attributes``, no ``excludedAttributes``) does with a
# top-level attribute of a resource type, decided once per name: a page of users
# spent half its time deciding it again for every attribute of every user.
_KEEP, _DROP, _DECIDE = "keep", "drop", "decide"
# id(resource type) → (the resource type, name → what the default shape does).
_DEFAULT_SHAPE: dict[int, tuple[ResourceType, dict[str, str]]] = {}
_MAX_NAMES = 1024  # names remembered per resource type (unknown names are not bounded)


def _default_action(resource_type: ResourceType, key: str) -> str:
    entry = _DEFAULT_SHAPE.get(id(resource_type))
    if entry is None or entry[0] is not resource_type:
        entry = _DEFAULT_SHAPE[id(resource_type)] = (resource_type, {})
    actions = entry[1]
    action = actions.get(key)
    if action is None:
        action = _decide_default(resource_type, key)
        if len(actions) < _MAX_NAMES:
            actions[key] = action
    return action


def _decide_default(resource_type: ResourceType, key: str) -> str:
    if key.lower() == "schemas" or resource_type.extension(key) is not None:
        return _DECIDE  # the general path (an extension's value is a dict of attributes)
    attr = resource_type.resolve(None, key) or _UNKNOWN
    if attr.returned in ("never", "request"):
        return _DROP
    return _KEEP if attr.subs_returned_by_default else _DECIDE


def project(
    resource: dict[str, Any],
    resource_type: ResourceType,
    *,
    attributes: list[str] | None = None,
    excluded: list[str] | None = None,
) -> dict[str, Any]:
    """A copy of ``resource`` with the attributes the request asks for (see module doc)."""
    include = [_parse(resource_type, p) for p in attributes] if attributes else None
    exclude = [_parse(resource_type, p) for p in excluded or ()]
    default = include is None and not exclude
    core = resource_type.schema.id.lower()
    out: dict[str, Any] = {}
    for key, value in resource.items():
        if default:
            action = _default_action(resource_type, key)
            if action == _DROP or value is None:
                continue  # a null is left out, as _project_attribute's caller does
            if action == _KEEP and not (isinstance(value, list) and None in value):
                out[key] = value  # what _shape returns for it (see there)
                continue
        extension = resource_type.extension(key)
        if key.lower() == "schemas":
            out[key] = value
        elif extension is not None and isinstance(value, dict):
            urn = extension.id.lower()
            shaped = {}
            for name, item in value.items():
                attr = resource_type.resolve(extension.id, name) or _UNKNOWN
                kept = _project_attribute(attr, item, (urn, name.lower()), include, exclude)
                if kept is not None:
                    shaped[name] = kept
            if shaped:
                out[key] = shaped
        else:
            attr = resource_type.resolve(None, key) or _UNKNOWN
            kept = _project_attribute(attr, value, (core, key.lower()), include, exclude)
            if kept is not None:
                out[key] = kept
    return _prune_schemas(out, resource_type)


def _prune_schemas(out: dict[str, Any], resource_type: ResourceType) -> dict[str, Any]:
    """``schemas`` names the schemas of the attributes present (RFC 7643 §3)."""
    listed = next((k for k in out if k.lower() == "schemas"), None)
    if listed is None or not isinstance(out[listed], list):
        return out
    present = {k.lower() for k in out}
    out[listed] = [
        urn
        for urn in out[listed]
        if not isinstance(urn, str)
        or resource_type.extension(urn) is None
        or urn.lower() in present
    ]
    return out
