"""SCIM protocol errors, carrying the ``scimType`` of RFC 7644 §3.12."""

from __future__ import annotations

from typing import Any

from scim.schemas import ERROR


class ScimError(ValueError):
    """A request the protocol rejects; ``scim_type`` says why in RFC 7644 terms."""

    def __init__(self, message: str, *, scim_type: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.scim_type = scim_type
        self.status = status


class InvalidFilter(ScimError):
    def __init__(self, message: str) -> None:
        super().__init__(message, scim_type="invalidFilter")


class InvalidPath(ScimError):
    def __init__(self, message: str) -> None:
        super().__init__(message, scim_type="invalidPath")


def error_body(exc: ScimError) -> dict[str, Any]:
    """The Error response (RFC 7644 §3.12) for ``exc``."""
    body: dict[str, Any] = {"schemas": [ERROR], "status": str(exc.status)}
    if exc.scim_type:
        body["scimType"] = exc.scim_type
    body["detail"] = exc.message
    return body
