"""SCIM PATCH (RFC 7644 §3.5.2) applied to a resource held as a dict.

Pure and storage-agnostic: :func:`apply_patch` works on a private deep copy and
returns it, so the input is never touched and a request applies whole or raises
:class:`ScimError` before anything is returned (PATCH is atomic, §3.5.2).

Tolerant where real identity providers deviate from the RFC: op names in
any case (Entra's "Add"/"Replace"/"Remove"), booleans sent as "True"/"False",
the Entra manager as a bare id, members with ``"$ref": null``, and path-less
values whose keys are dotted, URN-prefixed or value-filter paths.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim.errors import ScimError
from scim.filter import (
    CASE_EXACT_ATTRS,
    And,
    AttrRef,
    Compare,
    Expr,
    Not,
    Or,
    Present,
    matches,
    parse,
)
from scim.json_copy import copy_json
from scim.paths import parse_path
from scim.schemas import PATCH_OP, Attribute, ResourceType, Schema

OPS = frozenset({"add", "replace", "remove"})
_MISSING: Any = object()  # an operation without a "value" member


@dataclass(frozen=True)
class Operation:
    op: str  # lower case
    path: str | None
    value: Any  # _MISSING when absent


@dataclass(frozen=True)
class Target:
    """Where a value goes: extension URN (None for the core schema), attribute, filter, sub."""

    uri: str | None
    attr: Attribute
    value_filter: Expr | None = None
    sub: Attribute | None = None


def apply_patch(resource: dict[str, Any], body: Any, resource_type: ResourceType) -> dict[str, Any]:
    """The resource after the PatchOp ``body``; raises :class:`ScimError` (status 400).

    scimTypes: invalidSyntax (body, op), invalidPath (unknown or malformed path),
    invalidFilter (malformed value filter), invalidValue (wrong type, missing value),
    noTarget (remove without path, replace filter matching nothing), mutability.
    """
    operations = _operations(body)
    result = copy_json(resource)
    for number, operation in enumerate(operations, start=1):
        try:
            for target, value in _targets(operation, resource_type):
                _write(result, operation.op, target, value, resource_type)
        except ScimError as exc:
            where = f"operation {number} ({operation.op} {operation.path or '(no path)'})"
            raise ScimError(
                f"{where}: {exc.message}", scim_type=exc.scim_type, status=exc.status
            ) from exc
    _check_required(resource, result, resource_type)
    return result


def _error(scim_type: str, message: str) -> ScimError:
    return ScimError(message, scim_type=scim_type, status=400)


# ------------------------------------------------------------------ the request


def _operations(body: Any) -> list[Operation]:
    """The operations of a PatchOp body; "Operations" and member names in any case."""
    if not isinstance(body, dict):
        raise _error("invalidSyntax", "the PATCH body must be a JSON object")
    listed = _get(body, "schemas")
    if not isinstance(listed, list) or PATCH_OP.lower() not in {
        s.lower() for s in listed if isinstance(s, str)
    }:
        raise _error("invalidSyntax", f'"schemas" must list {PATCH_OP}')
    raw = _get(body, "Operations")
    if not isinstance(raw, list) or not raw:
        raise _error("invalidSyntax", '"Operations" must be a non-empty array')
    return [_operation(item) for item in raw]


def _operation(raw: Any) -> Operation:
    if not isinstance(raw, dict):
        raise _error("invalidSyntax", "each operation must be a JSON object")
    op = _get(raw, "op")
    if not isinstance(op, str) or op.lower() not in OPS:
        raise _error("invalidSyntax", f"unknown op {op!r}; expected add, replace or remove")
    path = _get(raw, "path")
    if path is not None and (not isinstance(path, str) or not path.strip()):
        raise _error("invalidPath", f"path {path!r} is not a non-empty string")
    value = _get(raw, "value", _MISSING)
    if op.lower() != "remove" and value is _MISSING:
        raise _error("invalidValue", f'"{op}" needs a "value"')
    return Operation(op.lower(), path.strip() if path else None, value)


def _targets(operation: Operation, rt: ResourceType) -> list[tuple[Target, Any]]:
    """The (target, value) pairs an operation writes, in order."""
    path = operation.path
    if path is None:
        if operation.op == "remove":
            raise _error("noTarget", "remove needs a path")
        return _pathless(operation.value, rt)
    schema = _schema(path, rt)
    if schema is None:
        return [(_resolve(path, rt), operation.value)]
    if operation.op == "remove":  # the whole extension
        uri = None if schema is rt.schema else schema.id
        return [(Target(uri, attr), _MISSING) for attr in schema.attributes]
    return _pathless({path: operation.value}, rt)


def _pathless(value: Any, rt: ResourceType) -> list[tuple[Target, Any]]:
    """Each key of a path-less value is a path (RFC 7644 §3.5.2.1; Entra, Okta).

    Keys may be plain, dotted, URN-prefixed or value-filter paths, or a schema
    URN holding an object of that schema's attributes. "schemas" is skipped: the
    engine keeps it in step with the extensions present.
    """
    if not isinstance(value, dict):
        raise _error("invalidValue", "without a path the value must be an object")
    pairs: list[tuple[Target, Any]] = []
    for key, item in value.items():
        if key.lower() == "schemas":
            continue
        schema = _schema(key, rt)
        if schema is None:
            pairs.append((_resolve(key, rt), item))
        elif isinstance(item, dict):
            # A "schemas" key inside an extension object is tolerated like the top-level one.
            pairs.extend(
                (_resolve(f"{schema.id}:{k}", rt), v)
                for k, v in item.items()
                if k.lower() != "schemas"
            )
        else:
            raise _error("invalidValue", f"{key} must hold an object")
    return pairs


def _schema(name: str, rt: ResourceType) -> Schema | None:
    """The core or extension schema whose URN is ``name`` (case-insensitive)."""
    lowered = name.lower()
    schemas = (rt.schema, *(s for s, _ in rt.extensions))
    return next((s for s in schemas if s.id.lower() == lowered), None)


def _resolve(path: str, rt: ResourceType) -> Target:
    """The schema attribute a path names; unknown names are "invalidPath"."""
    _, bracket, rest = path.partition("[")
    filter_text, close, _ = rest.rpartition("]")
    if bracket and close:
        parse(filter_text)  # a malformed filter is "invalidFilter", not "invalidPath"
    parsed = parse_path(path)
    uri = parsed.uri
    if uri is not None:
        schema = _schema(uri, rt)
        if schema is None:
            raise _error("invalidPath", f"unknown schema {uri!r} in path {path!r}")
        uri = None if schema is rt.schema else schema.id
    attr = rt.resolve(uri, parsed.attr)
    if attr is None:
        raise _error("invalidPath", f"unknown attribute {parsed.attr!r} in path {path!r}")
    sub = attr.sub(parsed.sub) if parsed.sub else None
    if parsed.sub and sub is None:
        raise _error("invalidPath", f"{attr.name} has no sub-attribute {parsed.sub!r}")
    if parsed.value_filter is not None:
        if not (attr.multi_valued and attr.type == "complex"):
            raise _error("invalidPath", f"{attr.name} is not complex multi-valued: no filter")
        for ref in _filter_refs(parsed.value_filter):
            if ref.uri or ref.sub or attr.sub(ref.attr) is None:
                raise _error("invalidPath", f"{attr.name} has no sub-attribute {ref.dotted()!r}")
    return Target(uri, attr, parsed.value_filter, sub)


def _filter_refs(expr: Expr) -> Iterator[AttrRef]:
    """The attribute references of a value filter, to check them against the schema."""
    if isinstance(expr, And | Or):
        yield from _filter_refs(expr.left)
        yield from _filter_refs(expr.right)
    elif isinstance(expr, Not):
        yield from _filter_refs(expr.expr)
    elif isinstance(expr, Compare | Present):
        yield expr.ref
    else:
        raise _error("invalidFilter", "value filters cannot nest")


# ------------------------------------------------------------------ writing


def _write(resource: dict[str, Any], op: str, target: Target, value: Any, rt: ResourceType) -> None:
    """Apply one change; readOnly targets may only be "changed" to what they are."""
    read_only = target.attr.mutability == "readOnly" or (
        target.sub is not None and target.sub.mutability == "readOnly"
    )
    if not read_only:
        _change(resource, op, target, value, rt)
        return
    trial = copy_json(resource)
    _change(trial, op, target, value, rt)
    if trial != resource:  # Okta sends the unchanged "id" along with a group rename
        name = target.attr.name + (f".{target.sub.name}" if target.sub else "")
        raise _error("mutability", f"{name} is read-only")


def _change(
    resource: dict[str, Any], op: str, target: Target, value: Any, rt: ResourceType
) -> None:
    container = _container(resource, target.uri)
    if op == "remove" or value is None:  # null is the unassigned state (§3.5.2)
        if not (op == "add" and target.attr.multi_valued):  # adding null adds nothing
            _remove(container, target, None if value is _MISSING else value)
    elif not target.attr.multi_valued:
        _set_single(container, target, value)
    elif op == "add":
        _add_multi(container, target, value)
    else:
        _replace_multi(container, target, value)
    _store_extension(resource, target.uri, container, rt)


def _set_single(container: dict[str, Any], t: Target, value: Any) -> None:
    """add and replace agree here: simple values are replaced, complex ones merged."""
    current = _get(container, t.attr.name)
    if t.attr.type != "complex":
        new = _simple(t.attr, value)
        _check_immutable(t.attr, current, new)
        _set(container, t.attr.name, new)
        return
    changes = {t.sub.name: _simple(t.sub, value)} if t.sub else _complex(t.attr, value)
    base = current if isinstance(current, dict) else {}
    _set(container, t.attr.name, _merge(t.attr, base, changes))


def _add_multi(container: dict[str, Any], t: Target, value: Any) -> None:
    """Append new values; a value already present is merged, not duplicated (§3.5.2.1)."""
    items = _items(container, t.attr)
    if t.value_filter is not None or t.sub is not None:
        written = _write_matching(items, t, value, add=True)
    else:
        written = []
        index = _index(t.attr, items)
        for new in _new_items(t.attr, value):
            at = _find(t.attr, items, index, new)
            if at is None:
                index.setdefault(_identity(t.attr, new), []).append(len(items))
                items.append(new)
                at = len(items) - 1
            else:
                items[at] = _merge(t.attr, items[at], new)
            written.append(items[at])
    _store_items(container, t.attr, items, written)


def _replace_multi(container: dict[str, Any], t: Target, value: Any) -> None:
    """Without filter or sub-attribute the whole list is replaced (§3.5.2.3)."""
    if t.value_filter is None and t.sub is None:
        items = _new_items(t.attr, value)
        written = items
    else:
        items = _items(container, t.attr)
        written = _write_matching(items, t, value, add=False)
    _store_items(container, t.attr, items, written)


def _write_matching(items: list[Any], t: Target, value: Any, *, add: bool) -> list[dict[str, Any]]:
    """Write into the values the filter selects; add creates one when none match."""
    changes = {t.sub.name: _simple(t.sub, value)} if t.sub else _complex(t.attr, value)
    selected = _selector(t.value_filter)
    chosen = [i for i, item in enumerate(items) if selected(item)]
    if not chosen:
        if t.value_filter is not None and not add:
            raise _error("noTarget", "the value filter matches no value")
        new = _merge(t.attr, {}, {**_complex(t.attr, _seed(t.value_filter)), **changes})
        if t.value_filter is not None and not matches(t.value_filter, new):
            raise _error("noTarget", "the value filter matches no value and cannot make one")
        items.append(new)
        return [new]
    for i in chosen:
        if add or t.sub is not None:
            items[i] = _merge(t.attr, items[i], changes)
        else:
            items[i] = _replaced(t.attr, items[i], _merge(t.attr, {}, changes))
    return [items[i] for i in chosen]


def _remove(container: dict[str, Any], t: Target, value: Any) -> None:
    """Remove a value; removing what is absent changes nothing (§3.5.2.2)."""
    current = _get(container, t.attr.name)
    if current is None:
        return
    if not t.attr.multi_valued:
        if t.sub is None:
            _check_immutable(t.attr, current, None)
            _set(container, t.attr.name, None)
        elif isinstance(current, dict):
            _set(container, t.attr.name, _merge(t.attr, current, {t.sub.name: None}))
        return
    items = current if isinstance(current, list) else [current]
    if t.value_filter is None and t.sub is None:
        # Entra removes members with a value array: {"path": "members", "value": [...]}.
        gone = [] if value is None else _new_items(t.attr, value)
        index = _index(t.attr, gone)
        kept = [i for i in items if value is not None and _find(t.attr, gone, index, i) is None]
    else:
        kept = []
        selected = _selector(t.value_filter)
        for item in items:
            if not selected(item):
                kept.append(item)
            elif t.sub is not None:
                rest = _merge(t.attr, item, {t.sub.name: None})
                if rest and (t.attr.sub("value") is None or "value" in rest):
                    kept.append(rest)  # a value that lost its "value" is gone
    _set(container, t.attr.name, kept)


# ------------------------------------------------------------------ values


def _simple(attr: Attribute, value: Any) -> Any:
    """A simple value checked against the attribute type; "True"/"False" become booleans."""
    kind = attr.type
    if kind == "boolean" and isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"  # Entra without aadOptscim062020
    if kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "decimal":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = kind != "complex" and isinstance(value, str)
    if not ok:
        raise _error("invalidValue", f"{attr.name} takes a {kind}, not {_json_type(value)}")
    return value


def _complex(attr: Attribute, value: Any) -> dict[str, Any]:
    """Sub-attributes to write, in schema spelling; null means "unassign".

    A bare string for a single-valued complex attribute with a "value" is that
    value (Entra sends the manager as an id). readOnly sub-attributes inside a
    value are ignored (Okta sends members' "display"), as on POST (§3.3).
    """
    if isinstance(value, str) and not attr.multi_valued and attr.sub("value"):
        value = {"value": value}
    if not isinstance(value, dict):
        raise _error("invalidValue", f"{attr.name} takes an object, not {_json_type(value)}")
    out: dict[str, Any] = {}
    for key, raw in value.items():
        sub = attr.sub(key)
        if sub is None:
            raise _error("invalidPath", f"{attr.name} has no sub-attribute {key!r}")
        if sub.mutability == "readOnly" and attr.mutability != "readOnly":
            continue
        out[sub.name] = None if raw is None else _simple(sub, raw)
    return out


def _new_items(attr: Attribute, value: Any) -> list[Any]:
    """The distinct values of a multi-valued attribute a request gives (one or a list)."""
    out: list[Any] = []
    seen: set[str] = set()
    for raw in value if isinstance(value, list) else [value]:
        if raw is None:
            continue
        if attr.type == "complex":
            item = _merge(attr, {}, _complex(attr, raw))
        else:
            item = _simple(attr, raw)
        key = json.dumps(item, sort_keys=True, default=str)
        if item != {} and key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _merge(attr: Attribute, current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``current`` with ``changes`` applied (None removes); immutable subs stay as set."""
    merged = dict(current)
    for name, new in changes.items():
        sub = attr.sub(name)
        if sub is not None:
            _check_immutable(sub, _get(merged, name), new)
        _set(merged, name, new)
    return merged


def _replaced(attr: Attribute, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A whole value replaced by a filter path; its immutable subs must not change."""
    for sub in attr.sub_attributes:
        _check_immutable(sub, _get(old, sub.name), _get(new, sub.name))
    return new


def _check_immutable(attr: Attribute, old: Any, new: Any) -> None:
    """Immutable values may be set when absent only (RFC 7644 §3.5.2)."""
    if attr.mutability == "immutable" and old is not None and old != new:
        raise _error("mutability", f"{attr.name} is immutable")


def _same(attr: Attribute, a: Any, b: Any) -> bool:
    """Whether two values of a multi-valued attribute are the same value.

    Values with a "value" compare on it (and on "type" when both have one), so
    that re-adding a member or an email merges instead of duplicating.
    """
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return a == b
    va, vb = _get(a, "value"), _get(b, "value")
    if va is None or vb is None:
        return a == b
    sub = attr.sub("value")
    if isinstance(va, str) and isinstance(vb, str) and not (sub and sub.case_exact):
        va, vb = va.lower(), vb.lower()
    ta, tb = _get(a, "type"), _get(b, "type")
    same_type = ta is None or tb is None or str(ta).lower() == str(tb).lower()
    return va == vb and same_type


def _identity(attr: Attribute, item: Any) -> str:
    """A key equal for values :func:`_same` may call the same (their "value")."""
    if not isinstance(item, dict):
        return json.dumps(item, default=str)
    value = _get(item, "value")
    if value is None:
        return json.dumps(item, sort_keys=True, default=str)
    sub = attr.sub("value")
    if isinstance(value, str) and not (sub and sub.case_exact):
        value = value.lower()
    return json.dumps(value, default=str)


def _index(attr: Attribute, items: list[Any]) -> dict[str, list[int]]:
    """Positions of values by identity, so that large groups are not scanned per member."""
    index: dict[str, list[int]] = {}
    for position, item in enumerate(items):
        index.setdefault(_identity(attr, item), []).append(position)
    return index


def _find(attr: Attribute, items: list[Any], index: dict[str, list[int]], new: Any) -> int | None:
    """The position in ``items`` of a value that is the same as ``new``, if any."""
    candidates = index.get(_identity(attr, new), ())
    return next((i for i in candidates if _same(attr, items[i], new)), None)


def _seed(expr: Expr | None) -> dict[str, Any]:
    """Sub-attributes a new value needs for ``expr`` to select it: its "eq" terms."""
    if isinstance(expr, Compare) and expr.op == "eq" and expr.value is not None:
        return {expr.ref.attr: expr.value}
    if isinstance(expr, And):
        return {**_seed(expr.left), **_seed(expr.right)}
    return {}


def _selector(expr: Expr | None) -> Callable[[Any], bool]:
    """A test for the values a filter selects (all values when there is no filter).

    ``attr eq "string"`` (Entra's ``members[value eq "id"]``) is tested directly
    with the evaluator's semantics: :func:`matches` is too slow for large groups.
    """
    if expr is None:
        return lambda item: isinstance(item, dict)
    if not (isinstance(expr, Compare) and expr.op == "eq" and isinstance(expr.value, str)):
        return lambda item: isinstance(item, dict) and matches(expr, item)
    if _is_datetime(expr.value):  # the evaluator compares those as instants
        return lambda item: isinstance(item, dict) and matches(expr, item)
    name = expr.ref.attr
    exact = name.lower() in CASE_EXACT_ATTRS
    wanted = expr.value if exact else expr.value.lower()

    def selected(item: Any) -> bool:
        found = _get(item, name) if isinstance(item, dict) else None
        return isinstance(found, str) and (found if exact else found.lower()) == wanted

    return selected


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _store_items(
    container: dict[str, Any], attr: Attribute, items: list[Any], written: list[Any]
) -> None:
    """Store a multi-valued attribute; a value written as primary makes the others not."""
    primaries = [w for w in written if isinstance(w, dict) and w.get("primary") is True]
    if len(primaries) > 1:
        raise _error("invalidValue", f"only one value of {attr.name} can be primary")
    if primaries:
        for item in items:
            if item is not primaries[0] and isinstance(item, dict) and _get(item, "primary"):
                _set(item, "primary", False)
    _set(container, attr.name, items)


def _check_required(before: dict[str, Any], after: dict[str, Any], rt: ResourceType) -> None:
    """A PATCH may not leave a required attribute (userName, displayName) unassigned."""
    for attr in rt.schema.attributes:
        if not attr.required:
            continue
        had = _get(before, attr.name) is not None
        if had and _get(after, attr.name) in (None, ""):
            raise _error("invalidValue", f"{attr.name} is required")


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), "a number")


# ------------------------------------------------------------------ dict access


def _key(obj: dict[str, Any], name: str) -> str | None:
    """The key of ``obj`` naming ``name`` (attribute names are case-insensitive)."""
    if name in obj:
        return name
    lowered = name.lower()
    return next((k for k in obj if isinstance(k, str) and k.lower() == lowered), None)


def _get(obj: dict[str, Any], name: str, default: Any = None) -> Any:
    key = _key(obj, name)
    return default if key is None else obj[key]


def _set(obj: dict[str, Any], name: str, value: Any) -> None:
    """Store under the schema's spelling; null or empty unassigns (§3.5.2)."""
    lowered = name.lower()
    for other in [k for k in obj if k != name and isinstance(k, str) and k.lower() == lowered]:
        del obj[other]
    if value is None or value == [] or value == {}:
        obj.pop(name, None)
    else:
        obj[name] = value  # in place when present, so the key keeps its position


def _items(container: dict[str, Any], attr: Attribute) -> list[Any]:
    current = _get(container, attr.name)
    if current is None:
        return []
    return list(current) if isinstance(current, list) else [current]


def _container(resource: dict[str, Any], uri: str | None) -> dict[str, Any]:
    """The object holding a schema's attributes: the resource, or its extension object
    (a new one when absent, attached by :func:`_store_extension` if it gets attributes)."""
    if uri is None:
        return resource
    found = _get(resource, uri)
    return found if isinstance(found, dict) else {}


def _store_extension(
    resource: dict[str, Any], uri: str | None, container: dict[str, Any], rt: ResourceType
) -> None:
    """Keep an extension under its URN and in "schemas" while it has attributes only."""
    if uri is None or (not container and _key(resource, uri) is None):
        return
    _set(resource, uri, container)
    listed = resource.get("schemas")
    if not isinstance(listed, list):
        if container:
            resource["schemas"] = [rt.schema.id, uri]
        return
    present = [s for s in listed if isinstance(s, str) and s.lower() == uri.lower()]
    if container and not present:
        listed.append(uri)
    elif not container:
        for s in present:
            listed.remove(s)
