"""The console's routes: sign-in, sign-out and one page shell per snap-in.

Pages are thin: each is a template with its own script, which talks to the
admin REST API with the session cookie and the CSRF token. All logic stays in
the services behind that API.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from connector.errors import ServiceError
from connector.services import admins, audit
from connector.web.console import session as console_session
from connector.web.http import ctx

HERE = Path(__file__).resolve().parent

console = Blueprint(
    "console",
    __name__,
    url_prefix="/admin",
    template_folder=str(HERE / "templates"),
    static_folder=str(HERE / "static"),
    static_url_path="/static",
)

# (endpoint, path, title) in navigation order.
PAGES = (
    ("users", "users", "Users"),
    ("mapping", "synchronized-users", "Synchronized users"),
    ("contacts", "contacts", "Contacts"),
    ("sources", "sources", "Sources"),
    ("deleted", "recently-deleted", "Recently deleted"),
    ("audit", "audit", "Audit log"),
)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    console_session.init_app(app, ctx_settings_data_dir(app))
    app.register_blueprint(console)


def ctx_settings_data_dir(app: Flask) -> Path:
    return app.extensions["connector.context"].settings.data_dir


@console.after_request
def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(target: str | None) -> str:
    """Only console paths on this host: never an open redirect."""
    if not target:
        return url_for("console.page", name="users")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin/") or "\\" in target:
        return url_for("console.page", name="users")
    return target


@console.get("/")
def index() -> Response:
    return redirect(url_for("console.page", name="users"))


@console.get("/sign-in")
def sign_in_form() -> Response | str:
    if console_session.principal() is not None:
        return redirect(_safe_next(request.args.get("next")))
    return render_template(
        "console/sign_in.html",
        csrf=console_session.csrf_token(),
        next=_safe_next(request.args.get("next")),
        error=None,
        name="",
    )


@console.post("/sign-in")
def sign_in() -> Response:
    name = request.form.get("name", "")
    target = _safe_next(request.form.get("next"))

    def again(status: int, error: str, field: str) -> Response:
        html = render_template(
            "console/sign_in.html",
            csrf=console_session.csrf_token(),
            next=target,
            error={"message": error, "field": field},
            name=name,
        )
        response = make_response(html, status)
        return response

    if not console_session.csrf_ok():
        return again(400, "The form had expired; please sign in again.", "form")
    try:
        result = admins.sign_in(ctx(), name, request.form.get("password", ""))
    except ServiceError as exc:  # a name no account can have
        return again(400, exc.message, exc.field or "name")
    if result.ok:
        console_session.start(int(result.account_id or 0), result.name)
        return redirect(target, code=303)
    if result.locked:
        response = again(
            429,
            "Too many failed attempts: this account is locked. "
            f"Try again in {result.retry_after} seconds.",
            "form",
        )
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    message = "Wrong name or password."
    if result.retry_after:
        message += f" Too many failed attempts: wait {result.retry_after} seconds."
    response = again(401, message, "password")
    if result.retry_after:
        response.headers["Retry-After"] = str(result.retry_after)
    return response


@console.post("/sign-out")
def sign_out() -> Response:
    who = console_session.principal()
    if who is not None and console_session.csrf_ok():
        console_session.end()
        ctx().run(lambda s: audit.record(s, who.actor, "admin.signout", "admin", who.name))
    return redirect(url_for("console.sign_in_form"), code=303)


@console.get("/<name>")
def page(name: str) -> Response | str:
    by_path = {path: (endpoint, title) for endpoint, path, title in PAGES}
    if name not in by_path:
        return make_response(render_template("console/not_found.html", pages=PAGES), 404)
    who = console_session.principal()
    if who is None:
        return redirect(url_for("console.sign_in_form", next=request.full_path.rstrip("?")))
    endpoint, title = by_path[name]
    return render_template(
        f"console/{endpoint}.html",
        pages=PAGES,
        current=name,
        title=title,
        admin=who.name,
        csrf=console_session.csrf_token(),
        script=endpoint,
        audit_actions=audit.ACTIONS,
    )
