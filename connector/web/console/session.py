"""The console's session: a signed cookie, its secret key, and CSRF tokens.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure when the
request came over TLS, directly or through a proxy that says so), valid for
``SESSION_HOURS``. It holds the admin's id and name and a random CSRF token;
every state-changing request made with the session must send that token back
(``X-CSRF-Token`` header, or the ``csrf_token`` field of a form).

The signing key comes from ``CONNECTOR_SECRET_KEY`` (give every replica the
same one) or else from ``<data_dir>/secret_key``, created once with mode 0600.
It is never logged.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from flask import Flask, Request, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from connector.config import ConfigError
from connector.services.tokens import Principal

SESSION_HOURS = 12
COOKIE_NAME = "connector_console"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECRET_KEY_ENV = "CONNECTOR_SECRET_KEY"
MIN_KEY_LENGTH = 32
CONSOLE = "console"


def load_secret_key(data_dir: Path) -> str:
    """The key from the environment, else the data folder's key file (made on first use)."""
    from_env = os.environ.get(SECRET_KEY_ENV, "").strip()
    if from_env:
        if len(from_env) < MIN_KEY_LENGTH or from_env.upper().startswith("CHANGE-ME"):
            raise ConfigError(
                f"{SECRET_KEY_ENV} must be a random value of at least {MIN_KEY_LENGTH} "
                "characters (e.g. openssl rand -hex 32)"
            )
        return from_env
    path = Path(data_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _write_once(path, secrets.token_hex(32))
    key = path.read_text().strip()
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"{path}: the console's secret key is too short")
    return key


def _write_once(path: Path, key: str) -> None:
    """Put ``key`` at ``path`` whole, unless another process got there first.

    Why not create the file and then write it: the web processes of one host start
    together, and one of them read the file another had created but not yet written
    (an empty key: "too short", and the process did not boot). The key is written to
    a file of this process's own and linked into place, which is atomic and fails
    when the path exists; the loser reads the winner's complete key.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp: mode 0600
            handle.write(key + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


class _SessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """A request without the cookie (every SCIM and API call) gets a new, empty
        session at once: Flask's own path builds the signing serializer first, which
        cost a SCIM GET about 5% of its CPU. The same session either way."""
        if app.secret_key and request.cookies.get(self.get_cookie_name(app)) is None:
            return self.session_class()
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return (
            bool(app.config.get("SESSION_COOKIE_SECURE"))
            or request.is_secure
            or (forwarded == "https")
        )


def init_app(app: Flask, data_dir: Path) -> None:
    app.secret_key = load_secret_key(data_dir)
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )


def csrf_token() -> str:
    """The session's CSRF token; made (and the cookie set) on first use."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok() -> bool:
    """Safe methods pass; others must present the session's token."""
    if request.method in SAFE_METHODS:
        return True
    expected = session.get("csrf")
    presented = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    return bool(expected) and hmac.compare_digest(str(expected), presented)


def start(account_id: int, name: str) -> None:
    """A fresh session for a signed-in admin (never reuse the anonymous one)."""
    session.clear()
    session.permanent = True
    session["aid"] = account_id
    session["name"] = name
    session["csrf"] = secrets.token_urlsafe(32)


def end() -> None:
    session.clear()


def principal() -> Principal | None:
    """The signed-in admin, or None."""
    if not isinstance(session.get("aid"), int) or not session.get("name"):
        return None
    return Principal(kind=CONSOLE, name=str(session["name"]), source_id=None)
