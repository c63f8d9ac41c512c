"""Authentication for the admin REST API: a bearer admin token, or the console's session.

A request with an ``Authorization`` header is judged by its token alone. Without
one, the console's signed session cookie counts, and then every state-changing
request must carry the session's CSRF token (see connector.web.console.session).
"""

from __future__ import annotations

from flask import Response, g, jsonify, request

from connector.services import tokens
from connector.web.console import session as console_session
from connector.web.http import ctx


def _refuse(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="connector"'
    return response


def require_admin() -> Response | None:
    """A ``before_request`` hook: 401 unless the request carries an admin token or session."""
    header = request.headers.get("Authorization", "")
    principal = None
    if header:
        scheme, _, presented = header.partition(" ")
        if scheme.lower() == "bearer" and presented.strip():
            principal = tokens.check_admin(ctx(), presented.strip())
    else:
        principal = console_session.principal()
        if principal is not None and not console_session.csrf_ok():
            return _refuse(
                403, "csrf", "the request lacks the console's CSRF token; reload the page"
            )
    if principal is None:
        return _refuse(401, "unauthorized", "an admin bearer token is required")
    g.principal = principal
    return None
