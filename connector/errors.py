"""Errors the service layer raises; entry points turn them into HTTP or CLI answers."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(ServiceError):
    status = 400
    code = "invalid"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class ReadOnlyContact(Conflict):
    """A synchronised contact while its user is the data source."""

    code = "managed_contact"


class PreconditionFailed(ServiceError):
    status = 412
    code = "precondition_failed"
