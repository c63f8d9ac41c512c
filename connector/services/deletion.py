"""Soft deletion: deleted users and contacts kept restorable for a grace period.

Why a tombstone table: a deleted user's rows (the user, its link, its contact,
its group memberships, its directory entry) move into ``deleted_objects``, so the
live tables hold live rows only and no read (SCIM, the user and contact lists,
the vCard export) needs a filter. A restore puts the same rows back with their
old ids; a source that creates the same anchor again (externalId, which is the
entry id for a directory) within the grace period revives them
(:func:`revivable`, :func:`revive`). :func:`purge` removes expired tombstones
for good.

The deletion guard of SCIM sources lives here too: past its threshold within
its window, a deletion by the source is *held* (the user is gone for the source,
its contact stays in the address book) until an admin confirms or rejects the
source's held deletions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, inspect, select
from sqlalchemy.orm import Session

from connector.config import DeletionConfig
from connector.db.models import (
    Base,
    Contact,
    ContactLink,
    DeletedObject,
    Group,
    GroupMember,
    LdapEntry,
    Source,
    SuppressedUser,
    User,
    UserEmail,
    UTCDateTime,
    utcnow,
)
from connector.errors import Conflict, InvalidInput, NotFound
from connector.queries.column_in import column_in
from connector.services import audit, sources, sync_settings
from connector.services.delete_guard import SourceGuard
from connector.services.ownership import LDAP

USER, CONTACT = "user", "contact"
# A SCIM source's deactivation of a user: counted by its guard for the window
# (``counted``), or ``held`` (the contact is left as it is until an admin decides).
DEACTIVATION = "deactivation"
PENDING, HELD, COUNTED = "pending", "held", "counted"
SOURCE, ADMIN = "source", "admin"  # who deleted: the source's client or run, or an admin
SCIM = "scim"


def grace(session: Session) -> timedelta:
    """``deletion.grace_period`` of the configuration the transaction runs under."""
    settings = session.info.get("settings")
    config = settings.deletion if settings is not None else DeletionConfig()
    return config.grace_period


# ------------------------------------------------------------------ rows in and out


def row_of(obj: Base | None) -> dict[str, Any] | None:
    """An ORM object's column values as JSON (times as ISO text)."""
    if obj is None:
        return None
    out: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        value = getattr(obj, attr.key)
        out[attr.key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _values(model: type[Base], row: dict[str, Any], *, keep_id: bool = True) -> dict[str, Any]:
    """:func:`row_of` read back for a Core insert into ``model``'s table."""
    out: dict[str, Any] = {}
    for attr in inspect(model).column_attrs:
        column = attr.columns[0]
        if attr.key not in row or (column.primary_key and not keep_id):
            continue
        value = row[attr.key]
        if value is not None and isinstance(column.type, UTCDateTime):
            value = datetime.fromisoformat(value)
        out[column.name] = value
    return out


def _insert(session: Session, model: type[Base], row: dict[str, Any], *, keep_id: bool) -> None:
    session.execute(insert(cast(Table, model.__table__)), [_values(model, row, keep_id=keep_id)])


# Built once: every deletion of a user reads them.
_LDAP_ENTRY_OF = select(LdapEntry).where(LdapEntry.user_id == bindparam("user_id"))
_GROUP_IDS_OF = select(GroupMember.group_id).where(GroupMember.member_id == bindparam("member_id"))


def user_payload(
    session: Session,
    user: User,
    link: ContactLink | None,
    contact: Contact | None,
    source_kind: str | None,
) -> dict[str, Any]:
    """What a restore of ``user`` needs, read before anything of it is deleted: the
    caller read its link and contact already; only a directory's user (``source_kind``)
    has an entry to look for."""
    entry = None
    if source_kind is None or source_kind == LDAP:
        entry = session.scalars(_LDAP_ENTRY_OF, {"user_id": user.id}).first()
    groups = list(session.scalars(_GROUP_IDS_OF, {"member_id": user.id}))
    return {
        "user": row_of(user),
        "link": row_of(link),
        "contact": row_of(contact),
        "contactDeleted": False,
        "groups": groups,
        "ldapEntry": row_of(entry),
    }


# ------------------------------------------------------------------ burying


def bury_user(
    session: Session,
    actor: str,
    user: User,
    payload: dict[str, Any],
    *,
    origin: str,
    state: str = PENDING,
    reason: str = "",
) -> DeletedObject:
    """The tombstone of a user deleted (``pending``) or held by its source's guard."""
    now = utcnow()
    tomb = DeletedObject(
        kind=USER,
        state=state,
        source_id=user.source_id,
        anchor=user.external_id,
        object_id=user.id,
        name=user.user_name,
        payload=payload,
        deleted_at=now,
        purge_after=now + grace(session) if state == PENDING else None,
        deleted_by=actor,
        origin=origin,
        reason=reason,
    )
    session.add(tomb)
    return tomb


def bury_contact(
    session: Session, actor: str, contact: Contact, link: ContactLink | None, reason: str
) -> None:
    """The tombstone of a synchronised contact deleted alone (its user was deactivated)."""
    user = session.get(User, link.user_id) if link is not None else None
    now = utcnow()
    session.add(
        DeletedObject(
            kind=CONTACT,
            state=PENDING,
            source_id=user.source_id if user is not None else None,
            anchor=None,
            object_id=contact.id,
            name=f"contact of {user.user_name}" if user is not None else "contact",
            payload={"contact": row_of(contact), "link": row_of(link)},
            deleted_at=now,
            purge_after=now + grace(session),
            deleted_by=actor,
            origin=SOURCE if actor.startswith(("scim:", "ldap:")) else ADMIN,
            reason=reason,
        )
    )


# ------------------------------------------------------------------ the SCIM deletion guard


def source_guard(source: Source) -> SourceGuard | None:
    return SourceGuard.from_json(source.delete_guard) if source.kind == SCIM else None


def held_count(session: Session, source_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(DeletedObject)
            .where(DeletedObject.source_id == source_id, DeletedObject.state == HELD)
        )
        or 0
    )


def guard_holds(session: Session, source: Source | None, origin: str) -> bool:
    """Whether a deletion by a SCIM source is to be held: the source is blocked
    already, or this deletion passes its guard's threshold within the window."""
    if source is None or origin != SOURCE:
        return False
    guard = source_guard(source)
    if guard is None:
        return False
    if held_count(session, source.id):
        return True
    since = utcnow() - guard.window
    recent = dict(
        session.execute(
            select(DeletedObject.kind, func.count())
            .where(
                DeletedObject.source_id == source.id,
                DeletedObject.kind.in_((USER, DEACTIVATION)),
                DeletedObject.origin == SOURCE,
                DeletedObject.deleted_at >= since,
            )
            .group_by(DeletedObject.kind)
        ).all()
    )
    live = session.scalar(select(func.count()).select_from(User).where(User.source_id == source.id))
    # The population: the users there are, and those the window's deletions took.
    population = (live or 0) + recent.get(USER, 0)
    return not guard.allows(sum(recent.values()) + 1, population)


def hold(session: Session, actor: str, user: User, payload: dict[str, Any], source: Source) -> None:
    """Hold a user's deletion: the user is gone for its source, its contact stays in
    the address book (unlinked) until an admin confirms or rejects."""
    link = session.scalars(select(ContactLink).where(ContactLink.user_id == user.id)).first()
    if link is not None:
        session.delete(link)
        session.flush()
    why = f"held by the deletion guard of source {source.name}; the contact stays until confirmed"
    bury_user(session, actor, user, payload, origin=SOURCE, state=HELD, reason=why)
    audit.record(
        session,
        actor,
        "deletion.hold",
        "user",
        user.id,
        None,
        {"userName": user.user_name, "source": source.name},
        message=why,
        diff=False,
    )


def deactivated(session: Session, actor: str, user: User, source: Source) -> bool:
    """A SCIM source deactivated ``user``: counted by its guard; True when the guard
    holds it (the contact stays as it is until an admin confirms or rejects)."""
    guard = source_guard(source)
    if guard is None:
        return False
    held = guard_holds(session, source, SOURCE)
    now = utcnow()
    why = (
        f"held by the deletion guard of source {source.name}; the contact stays as it is "
        "until confirmed"
        if held
        else ""
    )
    session.add(
        DeletedObject(
            kind=DEACTIVATION,
            state=HELD if held else COUNTED,
            source_id=source.id,
            anchor=user.external_id,
            object_id=user.id,
            name=user.user_name,
            payload={},
            deleted_at=now,
            purge_after=None if held else now + guard.window,
            deleted_by=actor,
            origin=SOURCE,
            reason=why,
        )
    )
    if held:
        audit.record(
            session,
            actor,
            "deletion.hold",
            "user",
            user.id,
            None,
            {"userName": user.user_name, "source": source.name, "deactivated": True},
            message=why,
            diff=False,
        )
    return held


def deactivation_held(session: Session, user_id: str) -> bool:
    """Whether the deactivation of this user waits for an admin (its contact must not
    follow it meanwhile)."""
    return (
        session.scalars(
            select(DeletedObject.id).where(
                DeletedObject.object_id == user_id,
                DeletedObject.kind == DEACTIVATION,
                DeletedObject.state == HELD,
            )
        ).first()
        is not None
    )


def guard_state(session: Session, source: Source) -> dict[str, Any]:
    """A SCIM source's guard as the API shows it, with its held deletions."""
    guard = source_guard(source)
    held = held_count(session, source.id)
    return {
        "deleteGuard": guard.to_json() if guard is not None else None,
        "heldDeletions": held,
        "blocked": held > 0,
    }


def forget_deactivation(session: Session, user_id: str) -> None:
    """The user was activated again or deleted: its held deactivation is moot."""
    session.execute(
        delete(DeletedObject).where(
            DeletedObject.object_id == user_id,
            DeletedObject.kind == DEACTIVATION,
            DeletedObject.state == HELD,
        )
    )


def set_source_guard(session: Session, actor: str, name: str, guard: SourceGuard | None) -> Source:
    """A SCIM source's guard (None: off). LDAP sources have theirs in the configuration."""
    source = sources.by_name(session, name)
    if source is None:
        raise NotFound(f"no source named {name!r}")
    if source.kind != SCIM:
        raise InvalidInput(
            f"source {name!r} is a {source.kind} source: only SCIM sources take a deleteGuard "
            "here (an LDAP source's is in the configuration: delete_guard)",
            field="deleteGuard",
        )
    value = guard.to_json() if guard is not None else None
    audit.record(
        session,
        actor,
        "source.guard",
        "source",
        name,
        {"deleteGuard": source.delete_guard},
        {"deleteGuard": value},
    )
    source.delete_guard = value
    return source


def _scim_source(session: Session, name: str) -> Source:
    source = sources.by_name(session, name)
    if source is None or source.kind != SCIM:
        raise NotFound(f"no SCIM source named {name!r}")
    return source


def _held(session: Session, source: Source) -> list[DeletedObject]:
    return list(
        session.scalars(
            select(DeletedObject)
            .where(DeletedObject.source_id == source.id, DeletedObject.state == HELD)
            .order_by(DeletedObject.deleted_at, DeletedObject.id)
            .with_for_update()
        )
    )


def confirm_held(session: Session, actor: str, name: str) -> dict[str, Any]:
    """An admin allows a SCIM source's held deletions: they become ordinary deletions
    (the contact follows "Delete contact when user is deleted"), restorable for the
    grace period from now."""
    source = _scim_source(session, name)
    held = _held(session, source)
    if not held:
        raise Conflict(f"source {name!r} has no held deletions; nothing to confirm")
    delete_contacts = sync_settings.load(session).deleteContactWithUser
    purge_after = utcnow() + grace(session)
    for tomb in held:
        if tomb.kind == DEACTIVATION:
            _confirm_deactivation(session, actor, tomb, source)
            continue
        payload = dict(tomb.payload)
        link = payload.get("link")
        contact = session.get(Contact, link["contact_id"]) if link else None
        free = (
            contact is not None
            and session.scalars(
                select(ContactLink.id).where(ContactLink.contact_id == contact.id)
            ).first()
            is None
        )
        if contact is not None and free and delete_contacts:
            payload["contact"], payload["contactDeleted"] = row_of(contact), True
            audit.record(
                session,
                actor,
                "contact.delete",
                "contact",
                contact.id,
                {"fields": dict(contact.fields), "active": contact.active},
                None,
                message=f"user {tomb.name} was deleted (held deletion confirmed)",
                diff=False,
            )
            session.delete(contact)
        tomb.payload = payload
        tomb.state, tomb.purge_after = PENDING, purge_after
    audit.record(
        session,
        actor,
        "deletion.confirm",
        "source",
        name,
        None,
        {"confirmed": len(held)},
        diff=False,
    )
    return {"source": name, "confirmed": len(held)}


def _confirm_deactivation(
    session: Session, actor: str, tomb: DeletedObject, source: Source
) -> None:
    """The held deactivation goes ahead: the contact follows it ("On deactivation")."""
    from connector.services import linking, users  # both import this module

    guard = source_guard(source)
    tomb.state = COUNTED
    tomb.purge_after = tomb.deleted_at + (guard.window if guard else timedelta(0))
    user = session.get(User, tomb.object_id)
    if user is not None:
        linking.sync_user(session, user, users.load_state(session), actor)


def _reject_deactivation(session: Session, actor: str, tomb: DeletedObject) -> None:
    """The held deactivation is undone: the user is active again, its contact untouched."""
    from connector.services import users  # it imports this module

    session.delete(tomb)
    session.flush()
    user = session.get(User, tomb.object_id)
    if user is not None and not user.active:
        users.replace(session, actor, user, {**user.resource, "active": True})


def reject_held(session: Session, actor: str, name: str) -> dict[str, Any]:
    """An admin refuses a SCIM source's held deletions: the users come back with their
    links to the contacts that stayed (held deactivations: the users are active again)."""
    source = _scim_source(session, name)
    held = _held(session, source)
    if not held:
        raise Conflict(f"source {name!r} has no held deletions; nothing to reject")
    for tomb in held:
        if tomb.kind == DEACTIVATION:
            _reject_deactivation(session, actor, tomb)
            continue
        restore_user(session, actor, tomb, why="its held deletion was rejected")
    audit.record(
        session, actor, "deletion.reject", "source", name, None, {"restored": len(held)}, diff=False
    )
    return {"source": name, "restored": len(held)}


# ------------------------------------------------------------------ restoring and reviving


def _live(now: Any = None) -> Any:
    """Tombstones still restorable: held, or pending within the grace period (``now``:
    a time, or a bound parameter in a statement built once)."""
    if now is None:
        now = utcnow()
    return (DeletedObject.state == HELD) | (DeletedObject.purge_after > now)


def _revivable(source_id: Any, anchor_test: Any, now: Any) -> Any:
    """A source's restorable user tombstones whose anchor passes ``anchor_test``, newest first."""
    return (
        select(DeletedObject)
        .where(
            DeletedObject.source_id == source_id,
            DeletedObject.kind == USER,
            anchor_test,
            _live(now),
        )
        .order_by(DeletedObject.deleted_at.desc())
    )


# A SCIM create asks for one anchor: a statement built once.
_REVIVABLE_ONE = _revivable(
    bindparam("source_id"), DeletedObject.anchor == bindparam("anchor"), bindparam("now")
)


def revivable(session: Session, source_id: int, anchors: list[str]) -> dict[str, DeletedObject]:
    """The restorable user tombstones of a source by anchor (externalId)."""
    if not anchors:
        return {}
    if len(anchors) == 1:
        params = {"source_id": source_id, "anchor": anchors[0], "now": utcnow()}
        tombs = session.scalars(_REVIVABLE_ONE, params)
    else:
        tombs = session.scalars(
            _revivable(source_id, column_in(DeletedObject.anchor, anchors), utcnow())
        )
    found: dict[str, DeletedObject] = {}
    for tomb in tombs:
        found.setdefault(str(tomb.anchor), tomb)
    return found


def _check_free(session: Session, row: dict[str, Any]) -> None:
    """409 naming what keeps the user from coming back."""
    if session.get(User, row["id"]) is not None:
        raise Conflict(f"a user with id {row['id']!r} exists already")
    holder = session.scalars(
        select(User.id).where(User.user_name_ci == row["user_name_ci"])
    ).first()
    if holder is not None:
        raise Conflict(
            f"userName {row['user_name']!r} is now taken by user {holder}", field="userName"
        )
    if row.get("external_id") is not None:
        holder = session.scalars(
            select(User.id).where(
                User.source_id == row["source_id"], User.external_id == row["external_id"]
            )
        ).first()
        if holder is not None:
            raise Conflict(
                f"externalId {row['external_id']!r} is now used by user {holder} of the same "
                "source",
                field="externalId",
            )


def restore_user(
    session: Session,
    actor: str,
    tomb: DeletedObject,
    *,
    why: str,
    resource: dict[str, Any] | None = None,
) -> User:
    """Put a deleted user's rows back with their old ids, in the caller's transaction;
    ``resource`` (a revival by its source) replaces the stored attributes."""
    from connector.queries import user_emails

    payload = tomb.payload
    row = dict(payload["user"])
    if resource is not None:
        row.update(
            resource=resource,
            user_name=resource["userName"],
            user_name_ci=resource["userName"].lower(),
            external_id=resource.get("externalId"),
            active=bool(resource.get("active", True)),
            updated_at=utcnow().isoformat(),
        )
    _check_free(session, row)
    session.flush()
    _insert(session, User, row, keep_id=True)
    email_rows = user_emails.rows_for([(row["id"], row["resource"])])
    if email_rows:
        session.execute(insert(cast(Table, UserEmail.__table__)), email_rows)
    contact_row, link_row = payload.get("contact"), payload.get("link")
    if payload.get("contactDeleted") and contact_row is not None:
        _restore_contact_row(session, actor, contact_row, why)
    if link_row is not None:
        _relink(session, row["id"], link_row)
    for group_id in payload.get("groups", []):
        if session.get(Group, group_id) is not None:
            session.add(GroupMember(group_id=group_id, member_id=row["id"], member_type="User"))
    entry = payload.get("ldapEntry") if resource is None else None  # a run writes its own
    if (
        entry is not None
        and session.scalars(
            select(LdapEntry.id).where(
                LdapEntry.source_id == entry["source_id"], LdapEntry.entry_id == entry["entry_id"]
            )
        ).first()
        is None
    ):
        _insert(session, LdapEntry, entry, keep_id=False)
    _lift_for(session, row["source_id"], row.get("external_id") or row["id"])
    session.delete(tomb)
    session.flush()
    user = session.get_one(User, row["id"])
    audit.record(
        session,
        actor,
        "user.restore",
        "user",
        user.id,
        None,
        {"userName": user.user_name, "deletedBy": tomb.deleted_by},
        message=why,
        diff=False,
    )
    return user


def _restore_contact_row(session: Session, actor: str, row: dict[str, Any], why: str) -> None:
    if session.get(Contact, row["id"]) is not None:
        return
    _insert(session, Contact, row, keep_id=True)
    audit.record(
        session,
        actor,
        "contact.restore",
        "contact",
        row["id"],
        None,
        {"fields": row.get("fields"), "active": row.get("active")},
        message=why,
        diff=False,
    )


def _relink(session: Session, user_id: str, link: dict[str, Any]) -> None:
    """The user's link to its contact again, when both are free of other links."""
    session.flush()
    if session.get(Contact, link["contact_id"]) is None:
        return
    taken = session.scalars(
        select(ContactLink.id).where(
            (ContactLink.contact_id == link["contact_id"]) | (ContactLink.user_id == user_id)
        )
    ).first()
    if taken is None:
        _insert(session, ContactLink, {**link, "user_id": user_id}, keep_id=False)


def restore(session: Session, actor: str, deleted_id: str) -> dict[str, Any]:
    """``POST /deleted/{id}/restore``: a user with its link and contact, or a contact."""
    tomb = session.get(DeletedObject, deleted_id, with_for_update=True)
    if tomb is None or tomb.kind not in KINDS or not _restorable(tomb):
        raise NotFound(f"nothing deleted with id {deleted_id!r} can be restored (any more)")
    if tomb.kind == USER:
        user = restore_user(session, actor, tomb, why=f"restored by {actor}")
        link = session.scalars(select(ContactLink).where(ContactLink.user_id == user.id)).first()
        return {"kind": USER, "userId": user.id, "contactId": link.contact_id if link else None}
    row = tomb.payload["contact"]
    if session.get(Contact, row["id"]) is not None:
        raise Conflict(f"a contact with id {row['id']!r} exists already")
    _restore_contact_row(session, actor, row, f"restored by {actor}")
    link = tomb.payload.get("link")
    if link is not None and session.get(User, link["user_id"]) is not None:
        _relink(session, link["user_id"], link)
    session.delete(tomb)
    return {"kind": CONTACT, "userId": link["user_id"] if link else None, "contactId": row["id"]}


def _restorable(tomb: DeletedObject) -> bool:
    return tomb.state == HELD or (tomb.purge_after is not None and tomb.purge_after > utcnow())


# ------------------------------------------------------------------ suppressions


def _lift_for(session: Session, source_id: int, key: str) -> None:
    for remembered in session.scalars(
        select(SuppressedUser).where(
            SuppressedUser.source_id == source_id, SuppressedUser.external_key == key
        )
    ):
        session.delete(remembered)


def lift(session: Session, actor: str, suppression_id: int) -> None:
    """An admin lets a directory bring back a user an admin deleted."""
    remembered = session.get(SuppressedUser, suppression_id)
    if remembered is None:
        raise NotFound(f"no suppression with id {suppression_id}")
    audit.record(
        session,
        actor,
        "suppression.lift",
        "user",
        remembered.external_key,
        {"userName": remembered.user_name, "deletedBy": remembered.deleted_by},
        None,
        diff=False,
    )
    session.delete(remembered)


def suppressions(
    session: Session, *, source_name: str | None, start_index: int, count: int
) -> dict[str, Any]:
    where = []
    if source_name:
        source = sources.by_name(session, source_name)
        where.append(SuppressedUser.source_id == (source.id if source else -1))
    total = session.scalar(select(func.count()).select_from(SuppressedUser).where(*where)) or 0
    names = dict(session.execute(select(Source.id, Source.name)).all())
    rows = session.scalars(
        select(SuppressedUser)
        .where(*where)
        .order_by(SuppressedUser.deleted_at.desc(), SuppressedUser.id.desc())
        .offset(start_index - 1)
        .limit(count)
    )
    items = [
        {
            "id": r.id,
            "source": names.get(r.source_id),
            "key": r.external_key,
            "userName": r.user_name,
            "deletedAt": r.deleted_at.isoformat(),
            "deletedBy": r.deleted_by,
        }
        for r in rows
    ]
    return {"items": items, "total": total, "startIndex": start_index}


# ------------------------------------------------------------------ listing and purge

KINDS = (USER, CONTACT)


def listing(
    session: Session,
    *,
    source_name: str | None,
    kind: str | None,
    start_index: int,
    count: int,
) -> dict[str, Any]:
    """What is pending deletion (or held), newest first."""
    if kind is not None and kind not in KINDS:
        raise InvalidInput("'kind' must be 'user' or 'contact'", field="kind")
    where = [_live(), DeletedObject.kind.in_(KINDS)]
    if source_name:
        source = sources.by_name(session, source_name)
        where.append(DeletedObject.source_id == (source.id if source else -1))
    if kind:
        where.append(DeletedObject.kind == kind)
    total = session.scalar(select(func.count()).select_from(DeletedObject).where(*where)) or 0
    names = dict(session.execute(select(Source.id, Source.name)).all())
    rows = list(
        session.scalars(
            select(DeletedObject)
            .where(*where)
            .order_by(DeletedObject.deleted_at.desc(), DeletedObject.id)
            .offset(start_index - 1)
            .limit(count)
        )
    )
    keys = {(r.source_id, r.anchor or r.object_id) for r in rows if r.kind == USER}
    suppressed = {
        (s.source_id, s.external_key): s.id
        for s in session.scalars(
            select(SuppressedUser).where(
                SuppressedUser.external_key.in_([k for _, k in keys] or [""])
            )
        )
    }
    return {
        "items": [_represent(r, names, suppressed) for r in rows],
        "total": total,
        "startIndex": start_index,
    }


def _represent(
    tomb: DeletedObject, names: dict[int, str], suppressed: dict[tuple[int, str], int]
) -> dict[str, Any]:
    payload = tomb.payload
    contact = (
        payload.get("contact") if (tomb.kind == CONTACT or payload.get("contactDeleted")) else None
    )
    link = payload.get("link")
    return {
        "id": tomb.id,
        "kind": tomb.kind,
        "state": tomb.state,
        "name": tomb.name,
        "objectId": tomb.object_id,
        "source": names.get(tomb.source_id) if tomb.source_id is not None else None,
        "anchor": tomb.anchor,
        "contactId": contact["id"] if contact else (link["contact_id"] if link else None),
        "contactDeleted": contact is not None,
        "deletedAt": tomb.deleted_at.isoformat(),
        "deletedBy": tomb.deleted_by,
        "origin": tomb.origin,
        "reason": tomb.reason,
        "purgeAfter": tomb.purge_after.isoformat() if tomb.purge_after else None,
        "suppressionId": suppressed.get((tomb.source_id or 0, tomb.anchor or tomb.object_id)),
    }


def purge(session: Session, *, now: datetime | None = None, limit: int = 1000) -> int:
    """Remove up to ``limit`` expired tombstones for good (held ones never expire);
    how many went. One audit event each (none for the guard's counted deactivations,
    which leave the window)."""
    now = now or utcnow()
    rows = list(
        session.scalars(
            select(DeletedObject)
            .where(DeletedObject.state.in_((PENDING, COUNTED)), DeletedObject.purge_after <= now)
            .order_by(DeletedObject.purge_after)
            .limit(limit)
        )
    )
    audit.record_many(
        session,
        [
            audit.event(
                "system",
                "deletion.purge",
                tomb.kind,
                tomb.object_id,
                {"name": tomb.name, "deletedAt": tomb.deleted_at.isoformat()},
                None,
                message="the grace period ended",
                diff=False,
            )
            for tomb in rows
            if tomb.state == PENDING
        ],
    )
    for tomb in rows:
        session.delete(tomb)
    return len(rows)
