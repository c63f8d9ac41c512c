"""Small helpers shared by the HTTP entry points."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request

from connector.errors import InvalidInput, NotFound, ServiceError
from connector.services.context import Context
from scim.input_limits import (
    MAX_INDEX,
    InputRefused,
    UnstorableText,
    clamped_int,
    load_json,
    text_problem,
    unstorable_message,
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
    """A ``before_request`` hook: the URL's text under the rule of bodies. A path
    part holding NUL or a lone surrogate, or an integer one past
    input_limits.MAX_INDEX, names nothing that can exist (404); such a query
    parameter is 400 naming it."""
    for value in (request.view_args or {}).values():
        if (isinstance(value, str) and text_problem(value) is not None) or (
            isinstance(value, int) and value > MAX_INDEX
        ):
            raise NotFound(f"nothing can exist at {value!a}")
    for name, value in request.args.items(multi=True):
        problem = text_problem(name) or text_problem(value)
        if problem is not None:
            shown = name if text_problem(name) is None else ascii(name)
            raise InvalidInput(unstorable_message(shown, problem), field=shown)


def error_response(exc: ServiceError) -> Response:
    body: dict[str, Any] = {"error": exc.code, "message": exc.message}
    if exc.field:
        body["field"] = exc.field
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
