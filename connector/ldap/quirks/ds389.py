"""389 Directory Server / FreeIPA: nsUniqueId.

(A locked account, ``nsAccountLock=TRUE``, is the preset's ``disabled`` filter.)
"""

from __future__ import annotations

import re

_NS_UNIQUE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}")


def normalise_unique_id(text: str) -> str:
    """nsUniqueId is four dash-separated 8-hex groups (not a UUID); keep it, lower-cased."""
    value = text.strip().lower()
    if not _NS_UNIQUE_ID.fullmatch(value):
        raise ValueError(f"{text!r} is not an nsUniqueId")
    return value
