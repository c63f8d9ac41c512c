"""Errors the service layer raises; entry points turn them into HTTP or CLI answers."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def details(self) -> dict[str, Any]:
        """Keys an answer carries beside error, message and field (none by default)."""
        return {}


class InvalidInput(ServiceError):
    status = 400
    code = "invalid"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class StaleVersion(Conflict):
    """A write based on a version that is no longer the current one."""

    def __init__(self, message: str, *, current_version: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.current_version = current_version

    def details(self) -> dict[str, Any]:
        return {"currentVersion": self.current_version}


class ReadOnlyContact(Conflict):
    """A synchronised contact while its user is the data source."""

    code = "managed_contact"


class PreconditionFailed(ServiceError):
    status = 412
    code = "precondition_failed"
