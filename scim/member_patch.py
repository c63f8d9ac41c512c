"""A group PATCH that only adds or removes members, recognised without the group.

Identity providers keep large groups in step one member at a time:
``{"op": "add", "path": "members", "value": [{"value": "<id>"}]}`` and
``{"op": "remove", "path": "members[value eq \"<id>\"]"}`` (or Entra's
``{"op": "remove", "path": "members", "value": [{"value": "<id>"}]}``). Applied
through the general PATCH engine (scim/patch.py) such a request reads and
rewrites the whole member list; a store that offers ``patch_members`` can write
the few membership rows instead.

:func:`member_changes` answers only for bodies whose outcome it knows to be the
engine's: each operation an add or remove of plain member values. Anything else
(another attribute, a filter other than ``value eq``, an odd member item, a
malformed body) is None, and the request takes the general path, errors included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from scim.schemas import PATCH_OP

# members[value eq "<id>"], the value without quotes or escapes.
_REMOVE_ONE = re.compile(r'^\s*members\s*\[\s*value\s+eq\s+"([^"\\]+)"\s*\]\s*$', re.IGNORECASE)
_ITEM_KEYS = frozenset({"value", "$ref", "display", "type"})
_MEMBER_TYPES = frozenset({"User", "Group"})


@dataclass(frozen=True)
class MemberChanges:
    """Member ids to add and to remove: the state the operations leave, in order."""

    add: tuple[str, ...]
    remove: tuple[str, ...]


def member_changes(body: Any) -> MemberChanges | None:
    """The PatchOp ``body`` as member adds and removes, or None (see the module doc)."""
    if not isinstance(body, dict) or set(body) != {"schemas", "Operations"}:
        return None
    if body["schemas"] != [PATCH_OP]:
        return None
    operations = body["Operations"]
    if not isinstance(operations, list) or not operations:
        return None
    wanted: dict[str, bool] = {}  # member id → a member after the operations
    for operation in operations:
        found = _operation(operation)
        if found is None:
            return None
        keep, ids = found
        for member_id in ids:
            wanted.pop(member_id, None)  # the last operation on an id decides
            wanted[member_id] = keep
    return MemberChanges(
        tuple(m for m, keep in wanted.items() if keep),
        tuple(m for m, keep in wanted.items() if not keep),
    )


def _operation(operation: Any) -> tuple[bool, list[str]] | None:
    """(add?, member ids) for one operation, or None when it is something else."""
    if not isinstance(operation, dict) or not set(operation) <= {"op", "path", "value"}:
        return None
    op, path = operation.get("op"), operation.get("path")
    if not isinstance(op, str) or not isinstance(path, str):
        return None
    op = op.lower()
    if op == "remove" and "value" not in operation:
        matched = _REMOVE_ONE.match(path)
        return (False, [matched.group(1)]) if matched else None
    if op not in ("add", "remove") or path.strip().lower() != "members":
        return None
    ids = _member_ids(operation.get("value"))
    return None if ids is None else (op == "add", ids)


def _member_ids(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not value:
        return None
    ids = []
    for item in value:
        if not isinstance(item, dict) or not set(item) <= _ITEM_KEYS:
            return None
        member_id = item.get("value")
        if not isinstance(member_id, str) or not member_id:
            return None
        if not isinstance(item.get("$ref"), str | None):
            return None
        if "display" in item and not isinstance(item["display"], str):
            return None
        if "type" in item and item["type"] not in _MEMBER_TYPES:
            return None
        ids.append(member_id)
    return ids
