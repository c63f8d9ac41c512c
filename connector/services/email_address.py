"""What the connector accepts as an e-mail address, for every entry point.

Why here, once: the admin API, the console and the CLI create contacts and local
users through the services, and they must refuse the same values on SQLite and
PostgreSQL (no database check is involved). The rule is RFC 5322's dot-atom
address, which is what people type, with internationalised letters (RFC 6531):

* local part: 1 to 64 characters of letters, digits and ``!#$%&'*+/=?^_`{|}~-``,
  in dot-separated runs (no leading, trailing or double dot);
* ``@`` once;
* domain: at least two dot-separated labels of letters, digits and inner hyphens
  (1 to 63 characters each), 253 characters in all.

Quoted local parts (``"a b"@example.com``), comments and address literals
(``user@[192.0.2.1]``) are refused: valid in RFC 5322, but not what an address
book holds. Users of an identity provider or directory are not checked: their
source decides (README, "E-mail addresses").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connector.errors import InvalidInput

_ATOM = r"[\w!#$%&'*+/=?^`{|}~-]+"
_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL = re.compile(r"(?!-)[^\W_](?:[\w-]{0,61}[^\W_])?")


def problem(value: object) -> str | None:
    """What is wrong with ``value`` as an e-mail address, or None when it is one (pure)."""
    if not isinstance(value, str):
        return "an e-mail address must be text"
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return f"{value!r} is not an e-mail address: it needs a name, '@' and a domain"
    if len(local) > 64 or _LOCAL.fullmatch(local) is None:
        return f"{value!r} is not an e-mail address: the part before '@' is not valid"
    labels = domain.split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or any(_LABEL.fullmatch(label) is None or "_" in label for label in labels)
    ):
        return (
            f"{value!r} is not an e-mail address: the domain after '@' is not valid "
            "(such as example.com)"
        )
    return None


def check(value: object, field: str) -> None:
    """InvalidInput naming ``field`` unless ``value`` is an e-mail address."""
    found = problem(value)
    if found is not None:
        raise InvalidInput(found, field=field)


def check_user(resource: Mapping[str, Any]) -> None:
    """Every ``emails[].value`` of a SCIM User resource (validated shape); the error
    names the value's path, e.g. ``emails[type eq "work"].value`` (as the user field
    catalogue does), or ``emails`` for an address without a type."""
    for item in resource.get("emails") or []:
        if isinstance(item, Mapping) and item.get("value") not in (None, ""):
            kind = item.get("type")
            path = f'emails[type eq "{kind}"].value' if isinstance(kind, str) else "emails"
            check(item["value"], path)
