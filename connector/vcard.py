"""vCard 4.0 (RFC 6350) rendering of contact fields. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def _escape(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


# RFC 3966: a global number is "+", then digits and visual separators (- . ( )), with at
# least one digit; an extension is ";ext=" and the same. A local number would need a
# ";phone-context=" the connector cannot know, so it is not written as a tel: URI.
_PHONEDIGITS = r"[0-9.()-]*[0-9][0-9.()-]*"
_GLOBAL_TEL = re.compile(rf"\+{_PHONEDIGITS}(?:;ext={_PHONEDIGITS})?")
_EXTENSION = re.compile(r"\s*(?:;\s*ext\s*=|ext\.?|extension|x)\s*([0-9][0-9 .()-]*)$", re.I)


def tel_uri(value: str) -> str | None:
    """``value`` as an RFC 3966 ``tel:`` URI, or None when it cannot be one.

    Spaces and slashes between digit groups become "-" (a visual separator): "+49 30
    9999" is "tel:+49-30-9999". An extension ("x 12", "ext. 12") becomes ";ext=12".
    A number without a leading "+" (a local number) or with letters is None.
    """
    number = value.strip()
    extension = ""
    found = _EXTENSION.search(number)
    if found:
        extension = ";ext=" + _separated(found.group(1))
        number = number[: found.start()]
    if number.startswith("+"):
        number = "+" + number[1:].lstrip()
    uri = _separated(number) + extension
    return "tel:" + uri if _GLOBAL_TEL.fullmatch(uri) else None


def _separated(digits: str) -> str:
    """Runs of spaces, slashes and "-" as one "-"; none at either end."""
    return re.sub(r"(?:[\s/]|-)+", "-", digits.strip()).strip("-")


def _fold(line: str) -> str:
    """Fold lines at 75 octets without splitting a UTF-8 character (RFC 6350 §3.2)."""
    out: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not out else 74
        if len((current + char).encode("utf-8")) > limit:
            out.append(current)
            current = char
        else:
            current += char
    out.append(current)
    return "\r\n ".join(out)


def render(contact_id: str, fields: Mapping[str, Any], *, revision: str | None = None) -> str:
    f = {k: str(v) for k, v in fields.items() if v not in (None, "")}
    given, family = f.get("firstName", ""), f.get("lastName", "")
    formatted = (
        f.get("displayName")
        or " ".join(
            p for p in (f.get("title"), given, f.get("middleName"), family, f.get("suffix")) if p
        )
        or f.get("company")
        or f.get("email")
        or contact_id
    )
    lines = ["BEGIN:VCARD", "VERSION:4.0", f"UID:urn:uuid:{contact_id}", f"FN:{_escape(formatted)}"]
    lines.append(
        "N:"
        + ";".join(
            _escape(f.get(k, ""))
            for k in ("lastName", "firstName", "middleName", "title", "suffix")
        )
    )
    if "nickname" in f:
        lines.append(f"NICKNAME:{_escape(f['nickname'])}")
    if "company" in f or "department" in f:
        lines.append(f"ORG:{_escape(f.get('company', ''))};{_escape(f.get('department', ''))}")
    if "jobTitle" in f:
        lines.append(f"TITLE:{_escape(f['jobTitle'])}")
    for key, kind in (("email", "work"), ("email2", "home")):
        if key in f:
            lines.append(f"EMAIL;TYPE={kind}:{_escape(f[key])}")
    for key, kind in (("phone", "work,voice"), ("mobile", "cell"), ("fax", "work,fax")):
        if key in f:
            uri = tel_uri(f[key])
            if uri is None:  # not a global number: kept as the text it is
                lines.append(f'TEL;VALUE=text;TYPE="{kind}":{_escape(f[key])}')
            else:
                lines.append(f'TEL;VALUE=uri;TYPE="{kind}":{uri}')
    if any(k in f for k in ("street", "city", "region", "postalCode", "country")):
        parts = [
            "",
            "",
            *(f.get(k, "") for k in ("street", "city", "region", "postalCode", "country")),
        ]
        lines.append("ADR;TYPE=work:" + ";".join(_escape(p) for p in parts))
    if "language" in f:
        lines.append(f"LANG:{_escape(f['language'])}")
    if "timezone" in f:
        lines.append(f"TZ:{_escape(f['timezone'])}")
    if "notes" in f:
        lines.append(f"NOTE:{_escape(f['notes'])}")
    if revision:
        lines.append(f"REV:{revision}")
    lines.append("END:VCARD")
    return "".join(_fold(line) + "\r\n" for line in lines)
