"""Bearer-token authentication for the admin REST API."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from connector.services import tokens
from connector.web.http import ctx


def require_admin() -> Response | None:
    """A ``before_request`` hook: 401 unless the request carries a valid admin token."""
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    principal = None
    if scheme.lower() == "bearer" and presented.strip():
        principal = ctx().run(lambda s: tokens.authenticate(s, presented.strip(), tokens.ADMIN))
    if principal is None:
        response = jsonify(
            {"error": "unauthorized", "message": "an admin bearer token is required"}
        )
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="connector"'
        return response
    g.principal = principal
    return None
