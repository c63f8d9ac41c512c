"""SQLAlchemy 2 typed models. Schema changes go through Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from connector import ids


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return ids.new_id()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType}


class Source(Base):
    """Where users come from: the admin (``local``), a SCIM client or an LDAP directory."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    # syncToContact for new users: {"scope": true | false | "<SCIM filter>"}
    sync_scope: Mapped[dict[str, Any]] = mapped_column(JSONType, default=lambda: {"scope": False})
    # A SCIM source's deletion guard {"maxCount", "maxPercent", "window"}; None: off
    # (LDAP sources take theirs from the configuration).
    delete_guard: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """One canonical user: the SCIM User resource plus indexed columns for lookups."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    user_name: Mapped[str] = mapped_column(String(255))
    user_name_ci: Mapped[str] = mapped_column(String(255), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    resource: Mapped[dict[str, Any]] = mapped_column(JSONType)
    sync_to_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    # True when an admin set sync_to_contact: the source's scope no longer changes it.
    sync_set_by_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sync_direction: Mapped[str | None] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("source_id", "external_id", name="uq_users_source_external_id"),
        # A source's users in userName order, and userName ranges within a source
        # (migration 0012); lookups by source alone use it too. With the id, a page's
        # OFFSET is skipped in the index alone (migration 0016, filtered_page).
        Index("ix_users_source_user_name_id", "source_id", "user_name_ci", "id"),
        # Counting a source's users (a page's totalResults) walks the narrowest
        # index that has the source: this one (migration 0017).
        Index("ix_users_source", "source_id"),
    )
    # Every UPDATE checks and bumps the version: concurrent writers cannot lose a write.
    __mapper_args__ = {"version_id_col": version}


class Contact(Base):
    """An address-book entry; manual, or synchronised when a link points at it."""

    __tablename__ = "contacts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Lower-cased field values for the address book search; name fields first, so
    # that it is also the "name" sort key (connector.mapping.sort_columns).
    search_text: Mapped[str] = mapped_column(Text, default="")
    # The "email" sort key (connector.mapping.email_sort_key).
    sort_email: Mapped[str] = mapped_column(Text, default="1", server_default="1")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}
    # The listing's sort orders (name, e-mail, updated, each with the id as the
    # tie-breaker) have indexes, so that keyset paging is an index range: migration
    # 0014 (text in code point order on PostgreSQL too, with COLLATE "C").


class ContactLink(Base):
    """The user ↔ contact link; paused links keep the pair for a later resume."""

    __tablename__ = "contact_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[str] = mapped_column(String(10), default="active")
    mapping_version: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MappingVersion(Base):
    """Every saved field mapping; the highest version is the current one."""

    __tablename__ = "mapping_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rows: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSONType)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50), index=True)
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[str | None] = mapped_column(String(100))
    # json, not jsonb, on PostgreSQL: written once, read rarely (see migration 0007).
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    message: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored (tokens are 256-bit random)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class Job(Base):
    """A long-running, resumable job such as "Update all synchronized users"."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    actor: Mapped[str] = mapped_column(String(200))
    mapping_version: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    error_messages: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Where a resumed job carries on: the last contact_links.id, or the last users.id.
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    cursor_key: Mapped[str] = mapped_column(String(36), default="")
    # The queue: which worker runs the job and until when it may (connector/services/jobs.py
    # ``claim``); a job whose lease ran out is taken over by another worker.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column()
    claims: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class SuppressedUser(Base):
    """A user deleted inside the connector; a directory poll must not revive it silently."""

    __tablename__ = "suppressed_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    external_key: Mapped[str] = mapped_column(String(255))
    user_name: Mapped[str] = mapped_column(String(255))
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("source_id", "external_key", name="uq_suppressed_key"),)


class Group(Base):
    """A SCIM group of one source; members are users (or groups) of the same source."""

    __tablename__ = "groups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(255))
    display_name_ci: Mapped[str] = mapped_column(String(255), index=True)
    external_id: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("source_id", "display_name_ci", name="uq_groups_source_display_name"),
    )
    __mapper_args__ = {"version_id_col": version}


class GroupMember(Base):
    __tablename__ = "group_members"
    group_id: Mapped[str] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    member_type: Mapped[str] = mapped_column(String(10), default="User")


class UserEmail(Base):
    """A user's e-mail value, lower-cased, for indexed ``emails.value`` filters.

    Derived from ``User.resource``; connector.queries.user_emails rewrites a user's
    rows whenever the ORM flushes a change to the resource. ``value_ci`` keeps
    the first 255 characters (enough for ``eq`` on shorter values and ``sw`` on
    prefixes up to that length). It compares in code point order on PostgreSQL
    too (collation "C"), like Python strings, so prefix ranges can use the index.
    """

    __tablename__ = "user_emails"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    value_ci: Mapped[str] = mapped_column(
        String(255).with_variant(String(255, collation="C"), "postgresql")
    )

    __table_args__ = (Index("ix_user_emails_value_ci", "value_ci", "user_id"),)


class AdminAccount(Base):
    """A person who signs in to the admin console; only a slow (scrypt) hash is stored."""

    __tablename__ = "admin_accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Consecutive failed sign-ins; from a threshold on, each one locks the account a while.
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    last_sign_in_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncRun(Base):
    """One poll or reconciliation of an LDAP source, with its numbers.

    States: ``running``, ``ok``, ``error`` (nothing deleted, watermark kept),
    ``blocked`` (the deletion guard stopped it; ``would_delete`` says how many),
    ``confirmed`` (an admin allowed a blocked run's deletions; ``confirmed_by_run``
    names the run that carried them out). The newest ``ok`` run with a
    ``watermark`` is where the next incremental poll starts.
    """

    __tablename__ = "sync_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(12), default="running")
    actor: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    deactivated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    suppressed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    would_delete: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    error_messages: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    watermark: Mapped[str | None] = mapped_column(String(100))
    watermark_server: Mapped[str | None] = mapped_column(String(255))
    confirms_run: Mapped[int | None] = mapped_column(Integer)
    confirmed_by_run: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_sync_runs_source", "source_id", "id"),)


class LdapEntry(Base):
    """What the connector last wrote for one directory entry.

    The change marker lets reconciliation skip unchanged entries without reading
    them; the content hash lets a poll skip entries whose mapped content did not
    change (logins bump modifyTimestamp); ``seen_run`` marks the entries the
    current reconciliation found, so the rest are the missing ones.
    """

    __tablename__ = "ldap_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    entry_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    dn: Mapped[str] = mapped_column(Text)
    change_marker: Mapped[str] = mapped_column(String(100), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    gone: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_run: Mapped[int | None] = mapped_column(Integer)

    # Room for in-place updates of seen_run on PostgreSQL (see migration 0008).
    __table_args__ = (
        UniqueConstraint("source_id", "entry_id", name="uq_ldap_entries_source_entry"),
        {"postgresql_with": {"fillfactor": 70}},
    )


class DeletedObject(Base):
    """A deleted user (with its link, contact and group memberships) or contact, kept
    restorable until ``purge_after``, or held by a source's deletion guard.

    Why a table of its own: the live tables hold only live rows, so no read of
    users or contacts needs a filter. ``payload`` holds the rows as they were.
    States: ``pending`` (deleted, restorable until ``purge_after``), ``held`` (the
    guard stopped the deletion of a SCIM source's user; its contact stays in the
    address book until an admin confirms or rejects). ``anchor`` is the user's
    externalId (a SCIM client's, or an LDAP entry's id attribute value).
    """

    __tablename__ = "deleted_objects"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(12))  # user, contact, deactivation
    state: Mapped[str] = mapped_column(String(10), default="pending")
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    anchor: Mapped[str | None] = mapped_column(String(255))
    object_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(255))  # userName, or the contact's display
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)
    purge_after: Mapped[datetime | None] = mapped_column()
    deleted_by: Mapped[str] = mapped_column(String(200))
    # "source" (the source's client or run) or "admin": only the first counts for the guard.
    origin: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_deleted_objects_anchor", "source_id", "anchor"),
        Index("ix_deleted_objects_deleted_at", "deleted_at"),
        Index("ix_deleted_objects_purge_after", "purge_after"),
    )
