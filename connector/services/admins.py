"""Admin accounts for the web console: creation, sign-in with a lockout delay.

Passwords are low-entropy secrets, so they are stored with scrypt (werkzeug's
``scrypt:32768:8:1`` with a random salt), never with a fast hash. After
``LOCKOUT_THRESHOLD`` consecutive failures each further failure locks the
account for a delay that doubles up to ``LOCKOUT_MAX``; while locked, sign-in
is refused without even checking the password. A success resets the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from connector.db.models import AdminAccount, utcnow
from connector.errors import Conflict, InvalidInput
from connector.services import audit, column_text
from connector.services.context import Context

HASH_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 8
LOCKOUT_THRESHOLD = 5
LOCKOUT_BASE = timedelta(seconds=30)
LOCKOUT_MAX = timedelta(minutes=15)
# Checked for unknown names, so that they take as long as known ones.
_DUMMY_HASH = generate_password_hash("not a password", method=HASH_METHOD)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt."""

    account_id: int | None
    name: str
    retry_after: int = 0  # seconds until the account may try again
    locked: bool = False  # refused without checking the password

    @property
    def ok(self) -> bool:
        return self.account_id is not None


def _valid_name(name: str) -> str:
    name = (name or "").strip()
    column_text.check(AdminAccount.name, name, "name")
    if not name or any(c.isspace() for c in name):
        raise InvalidInput("an admin name is 1 to 100 characters without spaces", field="name")
    return name


def create(session: Session, actor: str, name: str, password: str) -> AdminAccount:
    name = _valid_name(name)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password needs at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if by_name(session, name) is not None:
        raise Conflict(f"an admin named {name!r} already exists", field="name")
    account = AdminAccount(
        name=name,
        password_hash=generate_password_hash(password, method=HASH_METHOD),
        failed_attempts=0,
    )
    session.add(account)
    session.flush()
    audit.record(session, actor, "admin.create", "admin", name, None, {"name": name}, diff=False)
    return account


def by_name(session: Session, name: str) -> AdminAccount | None:
    return session.scalars(select(AdminAccount).where(AdminAccount.name == name)).first()


def by_id(session: Session, account_id: int) -> AdminAccount | None:
    return session.get(AdminAccount, account_id)


def lock_delay(failures: int) -> timedelta:
    """How long the account stays locked after its ``failures``-th consecutive failure."""
    if failures < LOCKOUT_THRESHOLD:
        return timedelta(0)
    return min(LOCKOUT_BASE * (2 ** (failures - LOCKOUT_THRESHOLD)), LOCKOUT_MAX)


def sign_in(ctx: Context, name: str, password: str) -> SignIn:
    """Check a name and password; count failures and lock the account when needed.

    The slow hash is checked between two short transactions, so that a stream of
    sign-in attempts does not hold the database's write lock (SQLite) meanwhile.
    """
    name = (name or "").strip()
    column_text.check(AdminAccount.name, name, "name")  # no account can have another

    def lookup(session: Session) -> tuple[str | None, int]:
        account = by_name(session, name) if name else None
        if account is None:
            return None, 0
        now = utcnow()
        if account.locked_until is not None and account.locked_until > now:
            return account.password_hash, int((account.locked_until - now).total_seconds()) + 1
        return account.password_hash, 0

    stored, locked_for = ctx.run(lookup)
    if stored is None:
        check_password_hash(_DUMMY_HASH, password or "")
        ctx.run(lambda s: _record(s, name, "failed", "unknown admin name"))
        return SignIn(None, name)
    if locked_for:
        ctx.run(lambda s: _record(s, name, "locked", f"locked for another {locked_for} s"))
        return SignIn(None, name, retry_after=locked_for, locked=True)
    correct = check_password_hash(stored, password or "")
    return ctx.run(lambda s: _count(s, name, correct))


def _record(session: Session, name: str, outcome: str, message: str | None = None) -> None:
    audit.record(
        session,
        f"console:{name or '?'}",
        "admin.signin",
        "admin",
        name or None,
        outcome=outcome,
        message=message,
    )


def _count(session: Session, name: str, correct: bool) -> SignIn:
    account = by_name(session, name)
    if account is None:  # deleted meanwhile
        _record(session, name, "failed", "unknown admin name")
        return SignIn(None, name)
    now = utcnow()
    if not correct:
        account.failed_attempts += 1
        delay = lock_delay(account.failed_attempts)
        account.locked_until = now + delay if delay else None
        _record(session, name, "failed", f"wrong password ({account.failed_attempts} in a row)")
        return SignIn(None, name, retry_after=int(delay.total_seconds()))
    account.failed_attempts = 0
    account.locked_until = None
    account.last_sign_in_at = now
    _record(session, name, "ok")
    return SignIn(account.id, name)
