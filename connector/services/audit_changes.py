"""An audit event's before/after as rows of (field, before, after), for people to read.

Why here and not in the console: what counts as one field is a rule (a contact's
catalogue fields, not the ``fields`` object that holds them; ``name.givenName``,
not ``name``), so the API answers it once and every reader counts the same.

Rules, written down in the README ("Audit log"):

* nested objects become dotted paths (``name.givenName``); a schema extension's
  attributes keep their URN (``urn:…:User:department``);
* a list of typed values becomes one field per type
  (``emails[type eq "work"].value``), the rows of a mapping one field per user
  field (its value is the contact field); any other list is one value;
* a contact's ``fields`` are its fields (``firstName``, not ``fields.firstName``);
* bookkeeping is not a field (``id``, ``schemas``, ``meta``), nor an absent or
  null value, nor ``active: true`` when an object is created or deleted (the
  default state); a change of ``active`` is listed;
* only paths whose value differs between before and after are listed.
"""

from __future__ import annotations

from typing import Any

BOOKKEEPING = frozenset({"id", "schemas", "meta"})
_TYPED_KEYS = ("type", "userField")


def _typed_list(items: list[Any]) -> str | None:
    """The key that names each item of a list of objects (``type``, ``userField``), if any."""
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in _TYPED_KEYS:
        names = [i.get(key) for i in items]
        if all(isinstance(n, str) and n for n in names) and len(set(names)) == len(names):
            return key
    return None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``value`` as {path: leaf value} (see the module's rules)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not prefix and key in BOOKKEEPING:
                continue
            if not prefix and key.startswith("urn:") and isinstance(item, dict):
                for name, sub in item.items():  # an extension's attribute: urn:…:User:department
                    out.update(flatten(sub, f"{key}:{name}"))
                continue
            out.update(flatten(item, f"{prefix}.{key}" if prefix else key))
        return out
    if isinstance(value, list):
        key = _typed_list(value)
        if key == "userField":  # a mapping's rows: each user field's contact field
            return {str(item["userField"]): item.get("contactField") for item in value}
        if key == "type":
            out = {}
            for item in value:
                name = f"{prefix}[type eq {_quoted(item['type'])}]"
                out.update(flatten({k: v for k, v in item.items() if k != "type"}, name))
            return out
        return {prefix: value} if value else {}
    if value is None:
        return {}
    return {prefix: value}


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unwrap(object_type: str, payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """A contact's payload with its ``fields`` lifted to the top."""
    if payload is None or object_type != "contact" or not isinstance(payload.get("fields"), dict):
        return payload
    rest = {k: v for k, v in payload.items() if k != "fields"}
    return {**payload["fields"], **rest}


def changes(
    object_type: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The rows of what changed: [{"field", "before", "after"}], in a stable order."""
    old = flatten(_unwrap(object_type, before) or {})
    new = flatten(_unwrap(object_type, after) or {})
    if before is None or after is None:  # a create or a delete: the default state is no news
        for side in (old, new):
            if side.get("active") is True:
                del side["active"]
    rows = []
    for path in list(dict.fromkeys([*old, *new])):
        if old.get(path) != new.get(path):
            rows.append({"field": path, "before": old.get(path), "after": new.get(path)})
    return rows
