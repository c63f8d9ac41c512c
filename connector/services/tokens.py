"""API tokens: admin tokens for the REST API, source tokens for SCIM clients.

Tokens are 256-bit random secrets, so a plain SHA-256 is a sound way to store
them (a slow hash is for low-entropy passwords); lookups go by that hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session

from connector.db.models import ApiToken, Source, utcnow
from connector.errors import Conflict, InvalidInput, NotFound
from connector.services import audit, column_text, sources
from connector.services.context import Context

ADMIN, SCIM = "admin", "scim"
TOKEN_PREFIX = "lsc_"
# last_used_at is refreshed at most this often, to keep reads free of writes.
LAST_USED_RESOLUTION = timedelta(minutes=5)
# A SCIM token found valid is taken as valid for this long by the process that checked
# it, without a transaction (see VerifiedTokens): a revocation holds at once in the
# process that made it, and in other processes after at most this long.
VERIFIED_SECONDS = 2.0


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who a request acts as, for permission checks and the audit log."""

    kind: str
    name: str
    source_id: int | None

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"


def create(
    session: Session, actor: str, *, name: str, kind: str, source_name: str | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never stored."""
    if kind not in (ADMIN, SCIM):
        raise InvalidInput(f"token kind must be {ADMIN!r} or {SCIM!r}")
    column_text.check(ApiToken.name, name, "name")
    column_text.check(Source.name, source_name, "source")
    source: Source | None = None
    if kind == SCIM:
        if not source_name:
            raise InvalidInput("a SCIM token needs a source name")
        source = sources.get_or_create(session, source_name, "scim")
        if source.kind != "scim":
            # A SCIM client must not write into a directory's (or the admin's) users.
            raise InvalidInput(
                f"source {source_name!r} is a {source.kind} source, not a SCIM client",
                field="source",
            )
    _check_name_free(session, name, kind, source)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name, token_hash=_hash(secret), kind=kind, source_id=source.id if source else None
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "token.create",
        "token",
        str(token.id),
        None,
        {"name": name, "kind": kind, "source": source_name},
        diff=False,
    )
    return token, secret


def _check_name_free(session: Session, name: str, kind: str, source: Source | None) -> None:
    """A token's name says who acted in the audit log (``scim:NAME``, ``admin:NAME``), so
    two tokens in use may not share one: not within a source, not among admin tokens.
    A revoked token's name may be given again."""
    same_owner = (
        ApiToken.source_id == source.id if source is not None else ApiToken.source_id.is_(None)
    )
    taken = session.scalars(
        select(ApiToken.id).where(
            ApiToken.name == name,
            ApiToken.kind == kind,
            same_owner,
            ApiToken.revoked_at.is_(None),
        )
    ).first()
    if taken is not None:
        where = f"source {source.name!r}" if source else "the admin tokens"
        raise Conflict(
            f"a token named {name!r} already exists for {where}; choose another name "
            "(or revoke that token first)",
            field="name",
        )


# Built once: every request asks it, and building a statement costs more than running it.
_BY_HASH = (
    select(
        ApiToken.id,
        ApiToken.name,
        ApiToken.token_hash,
        ApiToken.kind,
        ApiToken.source_id,
        ApiToken.last_used_at,
        ApiToken.revoked_at,
        Source.name,
    )
    .outerjoin(Source, Source.id == ApiToken.source_id)
    .where(ApiToken.token_hash == bindparam("digest"))
)


def _identify(
    session: Session, presented: str, kind: str
) -> tuple[Principal, str | None, int | None] | None:
    """One read: the principal, its source's name, and the token's id when its
    last-used time is due (older than LAST_USED_RESOLUTION)."""
    digest = _hash(presented)
    row = session.execute(_BY_HASH, {"digest": digest}).first()
    if row is None:
        return None
    token_id, name, token_hash, token_kind, source_id, last_used_at, revoked_at, source = row
    if revoked_at is not None or token_kind != kind:
        return None
    if not hmac.compare_digest(token_hash, digest):  # pragma: no cover - belt and braces
        return None
    now = utcnow()
    due = None
    if last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION:
        due = token_id
    return Principal(kind=kind, name=name, source_id=source_id), source, due


def touch(session: Session, token_id: int) -> None:
    """Refresh a token's last-used time (at most every LAST_USED_RESOLUTION)."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


@dataclass(frozen=True)
class ScimCaller:
    """A SCIM client's checked token: its principal (None: refused) and its source's
    name (for log lines)."""

    principal: Principal | None
    source_name: str | None


def representation(token: ApiToken, source_name: str | None) -> dict[str, object]:
    """A token as the admin API shows it: never its secret or hash."""
    return {
        "id": token.id,
        "name": token.name,
        "kind": token.kind,
        "source": source_name,
        "createdAt": token.created_at.isoformat(),
        "lastUsedAt": token.last_used_at.isoformat() if token.last_used_at else None,
        "revokedAt": token.revoked_at.isoformat() if token.revoked_at else None,
    }


def listing(session: Session, *, kind: str | None = None) -> list[dict[str, object]]:
    """Every token (revoked ones too), by name."""
    query = select(ApiToken).order_by(ApiToken.name, ApiToken.id)
    if kind:
        query = query.where(ApiToken.kind == kind)
    names = dict(session.execute(select(Source.id, Source.name)).all())
    return [
        representation(t, names.get(t.source_id) if t.source_id else None)
        for t in session.scalars(query)
    ]


def revoke(session: Session, actor: str, token_id: int) -> ApiToken:
    """Revoke a token for good; revoking twice is harmless."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        # Once the revocation is committed, this process checks every token afresh.
        event.listen(session, "after_commit", lambda _s: verified.forget(), once=True)
        audit.record(
            session,
            actor,
            "token.revoke",
            "token",
            str(token.id),
            {"name": token.name, "revoked": False},
            {"name": token.name, "revoked": True},
            diff=False,
        )
    return token


class VerifiedTokens:
    """SCIM tokens this process found valid in the last VERIFIED_SECONDS, by hash.

    A token check is a whole read transaction, about a third of a GET's CPU; an
    identity provider sends thousands of requests a minute with one token. Only
    valid tokens are kept (by their SHA-256, never the secret). :meth:`forget`
    (after a revocation commits) drops them all and bumps a generation, so a
    check that read the token before the revocation committed is not kept.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._callers: dict[str, tuple[float, ScimCaller]] = {}
        self.generation = 0

    def get(self, digest: str) -> ScimCaller | None:
        found = self._callers.get(digest)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, digest: str, caller: ScimCaller, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return  # a revocation committed while the token was read
            if len(self._callers) > 1000:  # expired entries of tokens no longer used
                self._callers.clear()
            self._callers[digest] = (time.monotonic() + self.seconds, caller)

    def forget(self) -> None:
        with self._lock:
            self.generation += 1
            self._callers.clear()


verified = VerifiedTokens(VERIFIED_SECONDS)


def _checked(ctx: Context, presented: str, kind: str) -> tuple[Principal, str | None] | None:
    """A token check in one read transaction (no write lock); the last-used time is
    written in a short write of its own only when it is due (once per
    LAST_USED_RESOLUTION per token). Returns the principal and its source's name."""
    found = ctx.read(lambda s: _identify(s, presented, kind))
    if found is None:
        return None
    principal, source_name, due = found
    if due is not None:
        ctx.run(lambda s: touch(s, due))
    return principal, source_name


def check_scim(ctx: Context, presented: str) -> ScimCaller:
    """A SCIM request's token check: remembered for VERIFIED_SECONDS when valid, else
    :func:`_checked`."""
    digest = _hash(presented)
    caller = verified.get(digest)
    if caller is not None:
        return caller
    generation = verified.generation
    found = _checked(ctx, presented, SCIM)
    if found is None:
        return ScimCaller(None, None)
    caller = ScimCaller(*found)
    verified.put(digest, caller, generation)
    return caller


def check_admin(ctx: Context, presented: str) -> Principal | None:
    """An admin API request's token check (:func:`_checked`). Why not one write
    transaction: on SQLite every admin request then queued for the write lock behind
    SCIM writes and jobs, and under load failed with "database is locked"."""
    found = _checked(ctx, presented, ADMIN)
    return found[0] if found is not None else None
