"""Opaque page cursors: where the next page of a listing starts (keyset paging).

A cursor is the URL-safe base64 of a small JSON object the listing wrote. It is
not a secret and not signed: a tampered cursor can only name another position
in the same listing, which the admin could ask for anyway. What cannot be read
is the client's bad input (400 naming the parameter), never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from connector.errors import InvalidInput
from scim.input_limits import first_bad_text

MAX_LENGTH = 2048


def encode(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unreadable(field: str = "cursor") -> InvalidInput:
    """The 400 for a cursor that is not one a listing wrote."""
    return InvalidInput(
        f"{field!r} is not a cursor this listing returned (use nextCursor as given)",
        field=field,
    )


def decode(cursor: str, field: str = "cursor") -> dict[str, Any]:
    """The position a cursor names, or InvalidInput naming ``field``."""
    problem = unreadable(field)
    if len(cursor) > MAX_LENGTH:
        raise problem
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise problem from exc
    if not isinstance(position, dict) or first_bad_text(position) is not None:
        raise problem  # a NUL or lone surrogate no database would compare with
    return position
