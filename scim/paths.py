"""Reading and writing one value at a SCIM attribute path on a resource dict.

Paths follow RFC 7644 §3.5.2 ``attrPath`` / ``valuePath`` syntax, e.g.
``name.givenName``, ``emails[type eq "work"].value`` or
``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName``.
The field catalogue and the mapping engine use them to name user fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scim.errors import InvalidPath, ScimError
from scim.filter import CORE_USER_URN, And, Compare, Expr, matches, parse
from scim.json_copy import copy_json
from scim.schemas import Attribute, ResourceType

_NAME = re.compile(r"[A-Za-z$][A-Za-z0-9_$-]*")


@dataclass(frozen=True)
class AttrPath:
    uri: str | None
    attr: str
    value_filter: Expr | None
    sub: str | None


@lru_cache(maxsize=1024)
def parse_path(path: str) -> AttrPath:
    """Split a path into schema URN, attribute, value filter and sub-attribute."""
    head, bracket, rest = path.partition("[")
    uri: str | None = None
    if head.lower().startswith("urn:"):
        uri, _, head = head.rpartition(":")
        if not uri or not head:
            raise InvalidPath(f"path {path!r} names a schema but no attribute")
    value_filter: Expr | None = None
    if bracket:
        filter_text, close, tail = rest.rpartition("]")
        if not close or (tail and not tail.startswith(".")):
            raise InvalidPath(f"path {path!r} has an unbalanced or misplaced '['")
        try:
            value_filter = parse(filter_text)
        except ScimError as exc:
            raise InvalidPath(f"path {path!r}: {exc.message}") from exc
        attr, sub = head, (tail[1:] or None)
        if tail == ".":
            raise InvalidPath(f"path {path!r} ends with '.' but names no sub-attribute")
    else:
        attr, _, sub_text = head.partition(".")
        sub = sub_text or None
    if not _NAME.fullmatch(attr):
        raise InvalidPath(f"path {path!r} has no valid attribute name")
    if sub is not None and not _NAME.fullmatch(sub):
        raise InvalidPath(f"path {path!r} has an invalid sub-attribute {sub!r}")
    if bracket and tail == ".":
        raise InvalidPath(f"path {path!r} ends with '.' but names no sub-attribute")
    if uri and uri.lower() == CORE_USER_URN.lower():
        uri = None
    return AttrPath(uri=uri, attr=attr, value_filter=value_filter, sub=sub)


@dataclass(frozen=True)
class ResolvedPath:
    """An attribute path resolved against a resource type's schemas, in schema spelling.

    ``uri`` is None for the core schema and the common attributes (``id``,
    ``externalId``, ``meta``), else the extension's URN: where a stored resource
    keeps the value. ``userName``, ``USERNAME`` and
    ``urn:ietf:params:scim:schemas:core:2.0:User:userName`` resolve alike.
    """

    uri: str | None
    attribute: Attribute
    sub: Attribute | None = None

    @property
    def name(self) -> str:
        """The path in schema spelling, qualified only for extensions."""
        base = f"{self.attribute.name}.{self.sub.name}" if self.sub else self.attribute.name
        return f"{self.uri}:{base}" if self.uri else base


def resolve_path(resource_type: ResourceType, path: str) -> ResolvedPath | None:
    """The attribute ``path`` names on ``resource_type``, or None when it has no such attribute.

    Raises InvalidPath for text that is no attribute path, and for value filters
    (``emails[type eq "work"]``), which name values rather than an attribute.
    """
    parsed = parse_path(path)
    if parsed.value_filter is not None:
        raise InvalidPath(f"path {path!r} has a value filter; name an attribute")
    uri = parsed.uri
    if uri is None and path[:4].lower() == "urn:":
        # parse_path dropped the core User URN: valid only where User is the core schema.
        uri = CORE_USER_URN
    if uri is not None and uri.lower() == resource_type.schema.id.lower():
        uri = None
    extension = resource_type.extension(uri) if uri is not None else None
    if uri is not None and extension is None:
        return None
    attribute = resource_type.resolve(uri, parsed.attr)
    if attribute is None:
        return None
    sub = None
    if parsed.sub is not None:
        sub = attribute.sub(parsed.sub)
        if sub is None:
            return None
    return ResolvedPath(extension.id if extension else None, attribute, sub)


def _key(obj: dict[str, Any], name: str) -> str:
    """The key of ``obj`` that matches ``name`` case-insensitively, else ``name``."""
    if name in obj:
        return name
    lowered = name.lower()
    return next((k for k in obj if k.lower() == lowered), name)


def _container(resource: dict[str, Any], path: AttrPath, create: bool) -> dict[str, Any] | None:
    if path.uri is None:
        return resource
    key = _key(resource, path.uri)
    found = resource.get(key)
    if isinstance(found, dict):
        return found
    if not create:
        return None
    resource[key] = {}
    schemas = resource.setdefault("schemas", [CORE_USER_URN])
    if path.uri not in schemas:
        schemas.append(path.uri)
    return resource[key]


def _pick(items: list[Any], path: AttrPath) -> dict[str, Any] | None:
    candidates = [i for i in items if isinstance(i, dict)]
    if path.value_filter is not None:
        candidates = [i for i in candidates if matches(path.value_filter, i)]
    if not candidates:
        return None
    return next((i for i in candidates if i.get("primary") is True), candidates[0])


def get_value(resource: dict[str, Any], path: str) -> Any:
    """The single value at ``path``, or None when absent."""
    parsed = parse_path(path)
    container = _container(resource, parsed, create=False)
    if container is None:
        return None
    value = container.get(_key(container, parsed.attr))
    if isinstance(value, list):
        item = _pick(value, parsed)
        if item is None:
            return None
        return item.get(_key(item, parsed.sub or "value"))
    if parsed.value_filter is not None:
        return None
    if parsed.sub is not None:
        return value.get(_key(value, parsed.sub)) if isinstance(value, dict) else None
    return value


def _seed_from_filter(expr: Expr | None) -> dict[str, Any]:
    """Attributes a new multi-valued item needs so that the filter selects it."""
    if isinstance(expr, Compare) and expr.op == "eq" and expr.ref.sub is None:
        return {expr.ref.attr: expr.value}
    if isinstance(expr, And):
        return {**_seed_from_filter(expr.left), **_seed_from_filter(expr.right)}
    return {}


def _matching(items: list[Any], path: AttrPath) -> list[dict[str, Any]]:
    return [
        i
        for i in items
        if isinstance(i, dict) and (path.value_filter is None or matches(path.value_filter, i))
    ]


def _set_in_list(container: dict[str, Any], key: str, parsed: AttrPath, value: Any) -> None:
    current = container.get(key)
    items = current if isinstance(current, list) else []
    sub = parsed.sub or "value"
    if value is None or value == "":
        # Clearing reaches every matching value, so that nothing matching is left to read.
        for item in _matching(items, parsed):
            item.pop(_key(item, sub), None)
            if not any(k for k in item if k not in {"type", "primary"}):
                items.remove(item)
    else:
        picked = _pick(items, parsed)
        if picked is None:
            item = _seed_from_filter(parsed.value_filter)
            items.append(item)
        else:
            item = picked
        item[_key(item, sub)] = value
    if items:
        container[key] = items
    else:
        container.pop(key, None)


def set_value(resource: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``resource`` with ``path`` set to ``value``; None or "" removes it."""
    result = copy_json(resource)
    parsed = parse_path(path)
    empty = value is None or value == ""
    container = _container(result, parsed, create=not empty)
    if container is None:
        return result
    key = _key(container, parsed.attr)
    current = container.get(key)
    if parsed.value_filter is not None or isinstance(current, list):
        _set_in_list(container, key, parsed, value)
    elif parsed.sub is not None:
        inner = current if isinstance(current, dict) else {}
        if empty:
            inner.pop(_key(inner, parsed.sub), None)
        else:
            inner[_key(inner, parsed.sub)] = value
        if inner:
            container[key] = inner
        else:
            container.pop(key, None)
    elif empty:
        container.pop(key, None)
    else:
        container[key] = value
    if parsed.uri is not None and not container:
        # An extension with no attributes left is dropped, and so is its schema URN.
        result.pop(_key(result, parsed.uri), None)
        schemas = result.get("schemas")
        if isinstance(schemas, list) and parsed.uri in schemas:
            schemas.remove(parsed.uri)
    return result


Getter = Callable[[dict[str, Any]], Any]


def _item_predicate(expr: Expr | None) -> Callable[[dict[str, Any]], bool]:
    """A fast test for the common ``type eq "work"`` filter; the evaluator otherwise."""
    if expr is None:
        return lambda item: True
    if isinstance(expr, Compare) and expr.op == "eq" and isinstance(expr.value, str):
        attr, wanted = expr.ref.attr, expr.value.lower()
        if expr.ref.sub is None and attr not in ("id", "externalId", "value"):

            def test(item: dict[str, Any]) -> bool:
                found = item.get(attr)
                return isinstance(found, str) and found.lower() == wanted

            return test
    return lambda item: matches(expr, item)


@lru_cache(maxsize=1024)
def compile_getter(path: str) -> Getter:
    """A reader for ``path`` on resources whose attribute names are in schema spelling.

    Stored users are normalised by :func:`scim.user_schema.validate_user`, so the
    mapping engine can use exact-name lookups; it reads every mapped field of
    every user during "Update all synchronized users".
    """
    parsed = parse_path(path)
    uri, attr, sub = parsed.uri, parsed.attr, parsed.sub
    wanted = _item_predicate(parsed.value_filter)
    has_filter = parsed.value_filter is not None
    item_key = sub or "value"

    def get(resource: dict[str, Any]) -> Any:
        container = resource.get(uri) if uri else resource
        if not isinstance(container, dict):
            return None
        value = container.get(attr)
        if value is None:
            return None
        if isinstance(value, list):
            chosen = None
            for item in value:
                if isinstance(item, dict) and wanted(item):
                    if item.get("primary") is True:
                        chosen = item
                        break
                    if chosen is None:
                        chosen = item
            return None if chosen is None else chosen.get(item_key)
        if has_filter:
            return None
        if sub is not None:
            return value.get(sub) if isinstance(value, dict) else None
        return value

    return get
