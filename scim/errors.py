"""SCIM protocol errors, carrying the ``scimType`` of RFC 7644 §3.12."""

from __future__ import annotations


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
