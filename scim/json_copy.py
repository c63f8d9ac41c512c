"""A deep copy of JSON data (what a parsed request or a stored resource holds).

Why not copy.deepcopy: it keeps a memo for shared and cyclic references, which
JSON cannot have, and that bookkeeping made it about a twentieth of a SCIM
PATCH's CPU. Anything but dicts and lists is immutable here and shared.
"""

from __future__ import annotations

import copy
from typing import Any

_IMMUTABLE = (str, int, float, bool, type(None))


def copy_json(value: Any) -> Any:
    """A copy of ``value`` that shares no dict or list with it."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    if isinstance(value, _IMMUTABLE):
        return value
    return copy.deepcopy(value)  # not JSON (a caller's own object): the general copy
