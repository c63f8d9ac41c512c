"""Small helpers shared by the HTTP entry points."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request

from connector.errors import InvalidInput, ServiceError
from connector.services.context import Context


def ctx() -> Context:
    return current_app.extensions["connector.context"]


def actor() -> str:
    return g.principal.actor


def json_body() -> Any:
    """The request's JSON, or a 400 that says why it could not be read."""
    if not request.data:
        raise InvalidInput("the request needs a JSON body")
    try:
        return request.get_json(force=True)
    except Exception as exc:  # werkzeug raises BadRequest with HTML text
        raise InvalidInput("the body is not valid JSON") from exc


def error_response(exc: ServiceError) -> Response:
    body: dict[str, Any] = {"error": exc.code, "message": exc.message}
    if exc.field:
        body["field"] = exc.field
    response = jsonify(body)
    response.status_code = exc.status
    return response


def int_arg(name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidInput(f"query parameter {name!r} must be an integer", field=name) from exc
    if value < minimum:
        value = minimum
    if maximum is not None and value > maximum:
        value = maximum
    return value


def bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in {"true", "1", "yes"}:
        return True
    if raw.lower() in {"false", "0", "no"}:
        return False
    raise InvalidInput(f"query parameter {name!r} must be true or false", field=name)
