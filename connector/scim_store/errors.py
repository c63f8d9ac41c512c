"""Service errors in SCIM terms (RFC 7644 §3.12), and the checks every store call starts with."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from connector.db.models import Group, User
from connector.errors import Conflict, InvalidInput, NotFound, PreconditionFailed, ServiceError
from connector.services.tokens import Principal
from scim.errors import ScimError

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", User, Group)
UNIQUE_FIELDS = {"userName", "externalId", "displayName"}


def as_scim_error(exc: ServiceError) -> ScimError:
    if isinstance(exc, NotFound):
        return ScimError(exc.message, status=404)
    if isinstance(exc, PreconditionFailed):
        return ScimError(exc.message, status=412)
    if isinstance(exc, Conflict):
        scim_type = "uniqueness" if exc.field in UNIQUE_FIELDS else None
        return ScimError(exc.message, scim_type=scim_type, status=409)
    if isinstance(exc, InvalidInput):
        return ScimError(exc.message, scim_type="invalidValue")
    return ScimError(exc.message, status=exc.status)


def scim_errors(method: F) -> F:
    """Let a store method raise service errors; the protocol sees ScimErrors."""

    @wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except ServiceError as exc:
            raise as_scim_error(exc) from exc

    return wrapper  # type: ignore[return-value]


ETAG = re.compile(r'(?:W/)?"[^"]*"')


def check_if_match(if_match: str | None, version: int) -> None:
    """RFC 7644 §3.14: a stale If-Match fails with 412 before anything changes."""
    if not if_match or if_match.strip() == "*":
        return
    offered = {tag.strip() for tag in if_match.split(",")}
    bad = next((tag for tag in offered if not ETAG.fullmatch(tag)), None)
    if bad is not None:
        raise ScimError(
            f'If-Match {bad!r} is not an entity tag such as W/"3"', scim_type="invalidVers"
        )
    current = f'W/"{version}"'
    if current not in offered and current.removeprefix("W/") not in offered:
        raise PreconditionFailed(f"the resource has version {current}, not {if_match}")


def owned(
    session: Session, model: type[M], resource_id: str, caller: Principal, *, lock: bool = False
) -> M:
    """The caller's own user or group; another source's is as absent as a missing one.

    Writers lock the row (PostgreSQL), so concurrent PATCHes of one resource queue
    up instead of racing; the version check stays as the safety net.
    """
    found = session.get(model, resource_id, with_for_update=lock)
    if found is None or found.source_id != caller.source_id:
        raise not_found(model, resource_id)
    return found


def not_found(model: type[User | Group], resource_id: str) -> ScimError:
    return ScimError(f"no {model.__name__.lower()} with id {resource_id!r}", status=404)


def source_id(caller: Principal) -> int:
    """The source a SCIM caller writes to: every SCIM token belongs to one."""
    assert caller.source_id is not None
    return caller.source_id
