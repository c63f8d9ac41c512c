"""Small helpers shared by the HTTP entry points."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request

from connector.errors import InvalidInput, NotFound, ServiceError
from connector.services.context import Context
from scim.input_limits import (
    MAX_INDEX,
    InputRefused,
    NoSuchPath,
    UnstorableText,
    check_url,
    clamped_int,
    load_json,
)


def ctx() -> Context:
    return current_app.extensions["connector.context"]


def actor() -> str:
    return g.principal.actor


def json_body() -> Any:
    """The request's JSON under scim.input_limits (the SCIM service reads bodies the
    same way), or a 400 that says why it could not be read."""
    if not request.data:
        raise InvalidInput("the request needs a JSON body")
    try:
        return load_json(request.data)
    except UnstorableText as exc:
        raise InvalidInput(exc.message, field=exc.field) from exc
    except InputRefused as exc:
        raise InvalidInput(exc.message) from exc


def refuse_unstorable_request() -> None:
    """A ``before_request`` hook: the URL under scim.input_limits.check_url (as the
    SCIM service does). A path part that no object can have is 404; a query
    parameter holding NUL or a lone surrogate is 400 naming it."""
    try:
        check_url((request.view_args or {}).values(), request.args.items(multi=True))
    except NoSuchPath as exc:
        raise NotFound(exc.message) from exc
    except InputRefused as exc:
        raise InvalidInput(exc.message, field=exc.field) from exc


def error_response(exc: ServiceError) -> Response:
    body: dict[str, Any] = {"error": exc.code, "message": exc.message}
    if exc.field:
        body["field"] = exc.field
    body.update(exc.details())
    response = jsonify(body)
    response.status_code = exc.status
    return response


def int_arg(name: str, default: int, *, minimum: int, maximum: int = MAX_INDEX) -> int:
    """An integer query parameter, clamped (see input_limits.clamped_int)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return clamped_int(raw, name, minimum=minimum, maximum=maximum)
    except InputRefused as exc:
        raise InvalidInput(f"query parameter {name!r} must be an integer", field=name) from exc


def bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in {"true", "1", "yes"}:
        return True
    if raw.lower() in {"false", "0", "no"}:
        return False
    raise InvalidInput(f"query parameter {name!r} must be true or false", field=name)
