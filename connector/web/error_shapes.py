"""Which error body a request gets: a SCIM Error under /scim/v2, the admin API's shape elsewhere.

The one place that decides by path prefix. The app's error handlers (routing
errors, the body-size check, unexpected failures) and the web server's own early
refusals (connector/web/serving.py) all ask it, so a SCIM client never sees the
admin API's ``{"error", "message"}`` and an admin client never sees a SCIM Error.
"""

from __future__ import annotations

import json
from typing import Any

from scim.errors import ScimError, error_body

SCIM_PREFIX = "/scim/v2"
SCIM_JSON = "application/scim+json"
ADMIN_JSON = "application/json"

# RFC 7644 §3.12: the scimType a plain HTTP refusal implies, where one applies.
_SCIM_TYPES = {400: "invalidSyntax"}


def is_scim_path(path: str) -> bool:
    """Whether ``path`` is under the SCIM mount (``/scim/v2`` itself included)."""
    return path == SCIM_PREFIX or path.startswith(SCIM_PREFIX + "/")


def too_large_message(limit: int) -> str:
    """What a client is told when its declared body is over ``limit`` bytes."""
    return f"the body is larger than the limit of {limit} bytes (server.max_body_bytes)"


def error_document(path: str, status: int, message: str, code: str) -> tuple[dict[str, Any], str]:
    """The error body for ``path`` and its content type.

    ``code`` is the admin API's short error code (``not_found``, ``too_large``, …);
    SCIM bodies carry the status as a string and a ``scimType`` where one applies.
    """
    if is_scim_path(path):
        return error_body(ScimError(message, scim_type=_SCIM_TYPES.get(status), status=status)), (
            SCIM_JSON
        )
    return {"error": code, "message": message}, ADMIN_JSON


def error_bytes(path: str, status: int, message: str, code: str) -> tuple[bytes, str]:
    """:func:`error_document` serialised, for answers written outside Flask."""
    body, content_type = error_document(path, status, message, code)
    return json.dumps(body, ensure_ascii=False).encode("utf-8"), content_type
