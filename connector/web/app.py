"""The Flask application factory: routes, error handlers and extensions, nothing else.

It starts nothing and writes nothing: migrations, the bootstrap rows and the job
runner belong to the commands that serve (connector/startup.py).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from connector.errors import ServiceError
from connector.scheduler import JobRunner
from connector.services.context import Context
from connector.web import observability
from connector.web.api import api
from connector.web.api_deleted import api_deleted
from connector.web.api_tokens import api_tokens
from connector.web.console import views as console_views
from connector.web.error_shapes import error_bytes, too_large_message
from connector.web.http import error_response
from connector.web.openapi import openapi
from connector.web.scim import scim_blueprint

log = logging.getLogger(__name__)


def create_app(ctx: Context, runner: JobRunner | None = None) -> Flask:
    """Build the app over a ready context (see connector.startup).

    ``runner`` is where requests queue background work; without one (an idle
    runner) the admin API runs LDAP syncs inside the request.
    """
    if runner is None:
        runner = JobRunner(ctx, enabled=False)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = ctx.settings.server.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["connector.context"] = ctx
    app.extensions["connector.runner"] = runner
    observability.init_app(app, ctx)
    app.register_blueprint(openapi)
    app.register_blueprint(api)
    app.register_blueprint(api_tokens)
    app.register_blueprint(api_deleted)
    console_views.init_app(app)
    app.register_blueprint(scim_blueprint(ctx))

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        if ctx.db.ping():
            return jsonify({"status": "ok"}), 200
        return jsonify({"status": "unavailable", "message": "the database does not answer"}), 503

    @app.get("/livez")
    def livez() -> tuple[Response, int]:
        """The process answers (no database: an outage must not restart every replica)."""
        return jsonify({"status": "ok"}), 200

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        """The database answers and its schema is at this code's head (connector/readiness.py)."""
        ready = runner.readiness.check()
        if ready.ok:
            return jsonify({"status": "ok"}), 200
        return jsonify({"status": "unavailable", "message": ready.message}), 503

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        return error_response(exc)

    @app.before_request
    def _refuse_oversized_body() -> None:
        # From the declared length, before anything reads the body.
        declared = request.content_length
        if declared is not None and declared > ctx.settings.server.max_body_bytes:
            raise RequestEntityTooLarge(too_large_message(ctx.settings.server.max_body_bytes))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        response = _shaped(status, exc.description or exc.name or "error", code)
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return _shaped(500, "internal error; see the server log", "internal")

    return app


def _shaped(status: int, message: str, code: str) -> Response:
    """An error answer in the shape of the request's path (SCIM or admin API)."""
    body, content_type = error_bytes(request.path, status, message, code)
    return Response(body, status=status, content_type=content_type)
