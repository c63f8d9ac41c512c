"""User writes and reads. SCIM, LDAP and the admin API all create users here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy import delete as sa_delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector import mapping as engine
from connector.catalogue import Catalogue
from connector.db.models import (
    ContactLink,
    DeletedObject,
    Source,
    SuppressedUser,
    User,
    new_id,
    utcnow,
)
from connector.errors import Conflict, InvalidInput, NotFound, ServiceError
from connector.mapping import MappingRow
from connector.queries import bulk
from connector.queries.filtered_page import filtered_page
from connector.queries.user_filter import to_sql
from connector.services import (
    audit,
    deletion,
    email_address,
    linking,
    mappings,
    ownership,
    sources,
    sync_scope,
    sync_settings,
    uniqueness,
    user_columns,
    user_resources,
)
from connector.services.linking import SyncState
from scim.errors import ScimError
from scim.filter import Expr, parse
from scim.user_schema import validate_user

DIRECTIONS = (None, *sync_settings.DIRECTIONS)
# Keys of the admin API's user representation that are not SCIM attributes.
API_KEYS = (
    "syncToContact",
    "syncToContactSetBy",
    "syncDirection",
    "source",
    "contactId",
    "id",
    "meta",
    "fields",
)


def load_state(session: Session) -> SyncState:
    # Read when first needed (see SyncState): most changes of a user sync nothing.
    return SyncState(
        lambda: mappings.current(session),
        lambda: sync_settings.load(session),
        lambda: ownership.local_source_ids(session),
    )


def validated(resource: Any) -> dict[str, Any]:
    """The User resource as stored, or InvalidInput naming what is wrong with it."""
    try:
        data = validate_user(resource)
    except ScimError as exc:
        raise InvalidInput(exc.message) from exc
    user_columns.check(data)
    return data


def get(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id!r}")
    return user


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent insert won the race
        raise Conflict("userName or externalId is already taken") from exc


def _check_direction(direction: Any) -> None:
    if direction not in DIRECTIONS:
        raise InvalidInput(
            "'syncDirection' must be null, 'user_to_contact' or 'contact_to_user'",
            field="syncDirection",
        )


def create(
    session: Session,
    actor: str,
    source: Source,
    resource: Any,
    *,
    sync_to_contact: bool | None = None,
    sync_direction: str | None = None,
) -> User:
    """Create a user and, when its sync switch is on, its contact, in the same transaction."""
    data = validated(resource)
    _check_direction(sync_direction)
    if sync_to_contact is None:
        sync_to_contact = source.sync_scope.get("scope") is True
    if not isinstance(sync_to_contact, bool):
        raise InvalidInput("'syncToContact' must be true or false", field="syncToContact")
    anchor = data.get("externalId")
    if anchor and source.kind != sources.LOCAL:
        buried = deletion.revivable(session, source.id, [anchor]).get(anchor)
        if buried is not None:
            return revive(session, actor, source, buried, data, sync_to_contact)
    user = User(
        id=new_id(),
        source_id=source.id,
        sync_to_contact=sync_to_contact,
        sync_direction=sync_direction,
    )
    linking.apply_resource(user, data)
    user.created_at = user.updated_at
    uniqueness.check(session, user)
    session.add(user)
    _flush(session)
    audit.record(
        session,
        actor,
        "user.create",
        "user",
        user.id,
        None,
        # As representation() shows it: a new user has no contact yet.
        _represent(user, source.name, None),
        diff=False,
    )
    if sync_to_contact:
        linking.sync_user(session, user, load_state(session), actor)
    return user


def revive(
    session: Session,
    actor: str,
    source: Source,
    buried: DeletedObject,
    data: dict[str, Any],
    sync_to_contact: bool,
) -> User:
    """A source creates again a user it deleted within the grace period (same anchor):
    the old user comes back with its ids, link, contact and history, with ``data``
    as its attributes. The source's scope decides the switch, unless an admin set it."""
    user = deletion.restore_user(
        session, actor, buried, why=f"created again by source {source.name}", resource=data
    )
    state = load_state(session)
    if not user.sync_set_by_admin and user.sync_to_contact != sync_to_contact:
        linking.set_sync(session, user, sync_to_contact, state, actor, why="created again")
    else:
        linking.sync_user(session, user, state, actor)
    return user


def field_values(catalogue: Catalogue, resource: dict[str, Any]) -> dict[str, str]:
    """The user's value of every catalogued user field that has one (path → text)."""
    return engine.apply(resource, _catalogue_rows(catalogue))


def with_fields(catalogue: Catalogue, resource: Any, fields: Any) -> Any:
    """``resource`` with catalogued user fields set from ``fields`` (path → text;
    empty or null clears). Why: the console's user dialog edits every catalogued
    field by its path, as the field mapping names them, whatever SCIM shape it has."""
    if fields is None:
        return resource
    if not isinstance(fields, dict):
        raise InvalidInput("'fields' must be an object of user field → text", field="fields")
    known = catalogue.user_ids
    for path, value in fields.items():
        if path not in known:
            raise InvalidInput(f"unknown user field {path!r}", field=path)
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"user field {path!r} must be text or null", field=path)
    rows = [MappingRow(path, path) for path in fields]
    values = {path: value.strip() for path, value in fields.items() if value and value.strip()}
    return engine.invert(values, rows, resource if isinstance(resource, dict) else {})


def _catalogue_rows(catalogue: Catalogue) -> list[MappingRow]:
    return [MappingRow(f.id, f.id) for f in catalogue.user_fields]


def _check_admin_input(data: dict[str, Any]) -> None:
    """What an admin types for a local user: its e-mail addresses are addresses
    (connector.services.email_address; a source's users are stored as sent)."""
    email_address.check_user(data)


def create_local(session: Session, catalogue: Catalogue, actor: str, body: Any) -> User:
    """The admin API's and console's new local user: SCIM attributes and/or catalogued
    ``fields``, plus ``syncToContact`` and ``syncDirection``."""
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    data = {k: v for k, v in body.items() if k not in API_KEYS}
    data = with_fields(catalogue, data, body.get("fields"))
    if not isinstance(data, dict) or not data.get("userName"):
        raise InvalidInput(
            "a user needs a user name ('userName'); everything else is optional",
            field="userName",
        )
    resource = validated(data)
    _check_admin_input(resource)
    return create(
        session,
        actor,
        sources.local(session),
        resource,
        sync_to_contact=body.get("syncToContact", False),
        sync_direction=body.get("syncDirection"),
    )


def replace(session: Session, actor: str, user: User, resource: Any) -> User:
    """Replace the user's SCIM attributes and let the contact follow."""
    data = validated(resource)
    if data == user.resource:
        return user
    before, was_active = user.resource, user.active
    linking.apply_resource(user, data)
    uniqueness.check(session, user)
    _flush(session)
    audit.record(session, actor, "user.update", "user", user.id, before, user.resource)
    changed = user.active != was_active or not user.active
    if changed and _deactivation_held(session, actor, user, deactivating=was_active):
        return user
    linking.sync_user(session, user, load_state(session), actor)
    return user


def _guarded(session: Session, user: User) -> Source | None:
    """The user's source when it is a SCIM source with a deletion guard."""
    source = sources.by_id(session, user.source_id)
    if source is None or deletion.source_guard(source) is None:
        return None
    return source


def _deactivation_held(session: Session, actor: str, user: User, *, deactivating: bool) -> bool:
    """Whether a SCIM source's deletion guard holds this user's deactivation (a new
    one past its threshold, or one held before): the contact stays as it is. A user
    active again has no held deactivation any more."""
    source = _guarded(session, user)
    if source is None:
        return False
    if user.active:
        deletion.forget_deactivation(session, user.id)
        return False
    if deactivating:
        return deletion.deactivated(session, actor, user, source)
    return deletion.deactivation_held(session, user.id)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def patch(
    session: Session, actor: str, user_id: str, body: Any, catalogue: Catalogue | None = None
) -> User:
    """The admin API's merge patch: sync switch, direction, and attributes of local users
    (SCIM attributes, or catalogued ``fields`` when a catalogue is given)."""
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    user = get(session, user_id)
    body = dict(body)
    for key in ("id", "meta", "source", "contactId"):
        body.pop(key, None)
    source = sources.by_id(session, user.source_id)
    kind = source.kind if source is not None else None
    name = source.name if source is not None else "?"
    if "syncDirection" in body:
        direction = body.pop("syncDirection")
        _check_direction(direction)
        if direction == sync_settings.CONTACT_TO_USER and ownership.owned_by_source(kind):
            raise Conflict(
                ownership.managed_by(f"user {user.user_name!r}", name, kind)
                + "; its contact cannot be its data source (reversal applies to local users)",
                field="syncDirection",
            )
        if direction != user.sync_direction:
            audit.record(
                session,
                actor,
                "user.direction",
                "user",
                user.id,
                {"syncDirection": user.sync_direction},
                {"syncDirection": direction},
            )
            user.sync_direction = direction
    has_switch = "syncToContact" in body
    sync_switch = body.pop("syncToContact", None)
    if body:
        if ownership.owned_by_source(kind):
            raise Conflict(
                ownership.managed_by(f"user {user.user_name!r}", name, kind)
                + "; only syncToContact and syncDirection can be changed here",
                field=next(iter(body)),
            )
        fields = body.pop("fields", None)
        if fields is not None and catalogue is None:
            raise InvalidInput("'fields' is not accepted here", field="fields")
        merged = merge_patch(user.resource, body)
        if catalogue is not None:
            merged = with_fields(catalogue, merged, fields)
        _check_admin_input(validated(merged))
        replace(session, actor, user, merged)
    if has_switch:
        from connector.services import rescope  # rescope imports this module

        rescope.set_by_admin(session, actor, user, sync_switch)
    return user


def delete(
    session: Session, actor: str, user_id: str, *, remember: bool = True, reason: str = ""
) -> None:
    """Delete a user; its contact follows the "Delete contact when user is deleted" toggle.

    The rows go into a tombstone, restorable for the grace period
    (connector.services.deletion). ``remember`` (an admin's deletion) records users
    of directory and IdP sources so that a poll does not bring them back silently:
    a user deleted here stays deleted, and the source's runs count its entry as
    suppressed (an identity provider's explicit SCIM POST creates it anew). Without
    it the deletion is the source's own, which a SCIM source's deletion guard may
    hold.
    """
    user = get(session, user_id)
    source = sources.by_id(session, user.source_id)
    # Read once for the representation, the payload and the contact's fate.
    link, contact = linking.link_and_contact(session, user.id)
    before = _represent(user, source.name if source else None, link.contact_id if link else None)
    origin = deletion.ADMIN if remember else deletion.SOURCE
    kind = source.kind if source is not None else None
    payload = deletion.user_payload(session, user, link, contact, kind)
    if not user.active and _guarded(session, user) is not None:
        deletion.forget_deactivation(session, user.id)  # the deletion decides now
    if deletion.guard_holds(session, source, origin):
        assert source is not None
        deletion.hold(session, actor, user, payload, source)
        session.delete(user)
        audit.record(
            session,
            actor,
            "user.delete",
            "user",
            user_id,
            before,
            None,
            diff=False,
            message="held by the source's deletion guard",
        )
        return
    state = load_state(session)
    payload["contactDeleted"] = payload["link"] is not None and state.settings.deleteContactWithUser
    linking.user_deleted(session, user, state, actor, link, contact)
    if remember and source is not None and source.kind != sources.LOCAL:
        key = user.external_id or user.id
        exists = session.scalars(
            select(SuppressedUser.id).where(
                SuppressedUser.source_id == source.id, SuppressedUser.external_key == key
            )
        ).first()
        if exists is None:
            session.add(
                SuppressedUser(
                    source_id=source.id,
                    external_key=key,
                    user_name=user.user_name,
                    deleted_by=actor,
                )
            )
    deletion.bury_user(session, actor, user, payload, origin=origin, reason=reason)
    session.delete(user)
    audit.record(session, actor, "user.delete", "user", user_id, before, None, diff=False)


def sync_now(session: Session, actor: str, user_ids: list[str]) -> dict[str, Any]:
    """ "Synchronize users" for a selection: re-apply the mapping to each user's contact."""
    state = load_state(session)
    synced, skipped = [], []
    for user_id in user_ids:
        user = get(session, user_id)
        if not user.sync_to_contact:
            skipped.append({"id": user.id, "reason": "syncToContact is off"})
            continue
        linking.sync_user(session, user, state, actor)
        synced.append(user.id)
    return {"synced": synced, "skipped": skipped}


def representation(
    session: Session, user: User, catalogue: Catalogue | None = None
) -> dict[str, Any]:
    """The admin API's user: SCIM attributes plus the connector's own keys; with a
    catalogue also ``fields``, its value of each catalogued user field (the console's
    user dialog reads them)."""
    shown = representations(session, [user])[0]
    if catalogue is not None:
        shown["fields"] = field_values(catalogue, user.resource)
    return shown


def representations(session: Session, users: list[User]) -> list[dict[str, Any]]:
    """Several users with two queries in all, for list pages."""
    ids = [u.id for u in users]
    links = (
        dict(
            session.execute(
                select(ContactLink.user_id, ContactLink.contact_id).where(
                    ContactLink.user_id.in_(ids)
                )
            ).all()
        )
        if ids
        else {}
    )
    names = dict(session.execute(select(Source.id, Source.name)).all())
    return [_represent(u, names.get(u.source_id), links.get(u.id)) for u in users]


def _represent(
    user: User | CreatedUser, source: str | None, contact_id: str | None
) -> dict[str, Any]:
    return {
        "id": user.id,
        **user.resource,
        "source": source,
        "syncToContact": user.sync_to_contact,
        "syncToContactSetBy": sync_scope.set_by(user, local=source == sources.LOCAL),
        "syncDirection": user.sync_direction,
        "contactId": contact_id,
        "meta": {
            "resourceType": "User",
            "created": user.created_at.isoformat(),
            "lastModified": user.updated_at.isoformat(),
            "version": f'W/"{user.version}"',
        },
    }


def count(session: Session, where: list[Any]) -> int:
    return session.scalar(select(func.count()).select_from(User).where(*where)) or 0


class PreparedUser(Protocol):
    """Work for a new, validated user done ahead of its write (a directory's first
    import does it in another process: connector.ldap.fast_import.prepared)."""

    user_id: str
    resource_json: str  # the resource as json.dumps writes it

    def representation_json(self, user_id: str, own: dict[str, Any]) -> str:
        """json.dumps({"id": user_id, **resource, **own}), as text."""
        ...


@dataclass(frozen=True)
class NewUser:
    """One user of a :func:`create_many` batch."""

    resource: dict[str, Any]
    sync_to_contact: bool
    validated: bool = False  # the resource is already what validated() returns for it
    prepared: PreparedUser | None = None  # work done ahead (only for a validated resource)


@dataclass
class CreatedUser:
    """A user :func:`create_many` wrote with a Core insert: its column values.

    Why not an ORM ``User``: for a page of a directory import, the ORM's per-object
    bookkeeping cost several times the insert itself, and nothing reads these
    users back through the session. Has the attributes the contact and audit
    code read of a ``User``.
    """

    id: str
    source_id: int
    sync_to_contact: bool
    resource: dict[str, Any]
    user_name: str
    user_name_ci: str
    external_id: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    sync_direction: str | None = None
    version: int = 1
    prepared: PreparedUser | None = None

    @classmethod
    def of(
        cls,
        source_id: int,
        sync_to_contact: bool,
        data: dict[str, Any],
        prepared: PreparedUser | None = None,
    ) -> CreatedUser:
        now = utcnow()
        return cls(
            id=prepared.user_id if prepared else new_id(),
            source_id=source_id,
            sync_to_contact=sync_to_contact,
            resource=data,
            user_name=data["userName"],
            user_name_ci=data["userName"].lower(),
            external_id=data.get("externalId"),
            active=bool(data.get("active", True)),
            created_at=now,
            updated_at=now,
            prepared=prepared,
        )

    def row(self) -> dict[str, Any]:
        row = {name: getattr(self, name) for name in _COLUMNS}
        if self.prepared is not None:
            row["resource"] = bulk.JSONText(self.prepared.resource_json)
        return row


_COLUMNS = tuple(f.name for f in fields(CreatedUser) if f.name != "prepared")


def _buried(session: Session, source: Source, items: list[NewUser]) -> dict[str, DeletedObject]:
    """The batch's users deleted within the grace period, by anchor: they come back."""
    if source.kind == sources.LOCAL:
        return {}
    anchors = [
        str(i.resource["externalId"])
        for i in items
        if isinstance(i.resource, dict) and i.resource.get("externalId")
    ]
    return deletion.revivable(session, source.id, anchors)


def create_many(
    session: Session, actor: str, source: Source, items: list[NewUser]
) -> list[CreatedUser | User | ServiceError]:
    """Create many users of one source at once (a directory import), with their contacts.

    Same rules as :func:`create` (validation, unique userName and externalId, audit,
    contacts for users with the switch on), checked for the whole batch with a few
    queries and written with Core inserts; a user of the source deleted within the
    grace period comes back (:func:`revive`). Returns, per item, the user or the
    error that kept it out; the others are created regardless.
    """
    results: list[CreatedUser | User | ServiceError] = []
    batch = uniqueness.Batch()
    candidates: list[tuple[int, CreatedUser]] = []
    buried = _buried(session, source, items)
    for item in items:
        try:
            data = item.resource if item.validated else validated(item.resource)
            if item.validated:  # validated ahead, where the columns were not known
                user_columns.check(data)
            anchor = data.get("externalId")
            if anchor in buried:
                results.append(
                    revive(session, actor, source, buried[anchor], data, item.sync_to_contact)
                )
                continue
        except ServiceError as exc:
            results.append(exc)
            continue
        prepared = item.prepared if item.validated else None
        user = CreatedUser.of(source.id, item.sync_to_contact, data, prepared)
        twice = batch.claim(user.id, source.id, user.user_name, user.external_id)
        if twice is not None:
            results.append(twice)
            continue
        candidates.append((len(results), user))
        results.append(user)
    found = batch.holders(session)
    created: list[CreatedUser] = []
    for index, user in candidates:
        refused = uniqueness.conflict(found, user.id, source.id, user.user_name, user.external_id)
        if refused is not None:
            results[index] = refused
        else:
            created.append(user)
    if not created:
        return results
    rows = creation_rows(created, source.name, actor)
    session.flush()  # pending ORM changes first, as a flush of the users would do
    try:
        write_creation(session.connection(), rows)
    except IntegrityError as exc:  # a concurrent insert won the race
        raise Conflict("userName or externalId is already taken") from exc
    linking.create_linked_contacts(session, created, load_state(session), actor)
    return results


@dataclass(frozen=True)
class CreationRows:
    """The rows new users make: users, their user_emails rows (the flush listener of
    user_emails does not see bulk inserts) and one audit event each."""

    users: list[dict[str, Any]]
    emails: list[dict[str, Any]]
    events: list[dict[str, Any]]


def creation_rows(created: Sequence[CreatedUser], source_name: str, actor: str) -> CreationRows:
    """Needs no database: a first import's reader process makes these too."""
    from connector.queries import user_emails

    return CreationRows(
        users=[u.row() for u in created],
        emails=user_emails.rows_for((u.id, u.resource) for u in created),
        events=[
            audit.event(
                actor, "user.create", "user", u.id, None, _new_user_json(u, source_name), diff=False
            )
            for u in created
        ],
    )


_REPRESENTATION_KEYS = {
    "id",
    "source",
    "syncToContact",
    "syncToContactSetBy",
    "syncDirection",
    "contactId",
    "meta",
}


def _new_user_json(user: CreatedUser, source_name: str) -> dict[str, Any] | bulk.JSONText:
    """A new user's representation for its audit event; as the prepared JSON text
    when there is one (the resource is a directory import's largest piece of JSON)."""
    representation = _represent(user, source_name, None)
    if user.prepared is None or _REPRESENTATION_KEYS & user.resource.keys():
        return representation
    own = {k: v for k, v in representation.items() if k in _REPRESENTATION_KEYS and k != "id"}
    return bulk.JSONText(user.prepared.representation_json(user.id, own))


def creation_tables() -> tuple[Any, Any, Any]:
    """The tables of :class:`CreationRows`, in its order."""
    from connector.db.models import AuditEvent, UserEmail

    return User.__table__, UserEmail.__table__, AuditEvent.__table__


def write_creation(connection: Any, rows: CreationRows) -> None:
    for table, table_rows in zip(
        creation_tables(), (rows.users, rows.emails, rows.events), strict=True
    ):
        bulk.insert_rows(connection, table, table_rows)


def replace_many(
    session: Session, actor: str, pairs: list[tuple[User, dict[str, Any]]]
) -> list[User | ServiceError]:
    """Replace many users' SCIM attributes at once (a directory poll), contacts following.

    Same rules as :func:`replace`, with the uniqueness checks, the mapping state and
    the audit insert done once for the batch instead of once per user.
    """
    results: list[User | ServiceError] = []
    changed: list[tuple[int, User, dict[str, Any]]] = []
    batch = uniqueness.Batch()
    for user, resource in pairs:
        try:
            data = validated(resource)
        except ServiceError as exc:
            results.append(exc)
            continue
        results.append(user)
        if data == user.resource:
            continue
        twice = batch.claim(user.id, user.source_id, data["userName"], data.get("externalId"))
        if twice is not None:
            results[-1] = twice
            continue
        changed.append((len(results) - 1, user, data))
    if not changed:
        return results
    found = batch.holders(session)
    events = []
    written: list[User] = []
    for index, user, data in changed:
        refused = uniqueness.conflict(
            found, user.id, user.source_id, data["userName"], data.get("externalId")
        )
        if refused is not None:
            results[index] = refused
            continue
        before = user.resource
        linking.apply_resource(user, data)
        events.append(audit.event(actor, "user.update", "user", user.id, before, user.resource))
        written.append(user)
    if not written:
        return results
    _flush(session)
    audit.record_many(session, events)
    state = load_state(session)
    for user in written:
        linking.sync_user(session, user, state, actor)
    return results


# ---------------------------------------------------------------- reads for the entry points


def listing(
    session: Session,
    *,
    filter_text: str | None,
    source_name: str | None,
    start_index: int,
    count: int,
) -> dict[str, Any]:
    """The admin API's user list: a SCIM filter and a source name narrow it, by userName.

    The filter sees each user as SCIM does (connector.services.user_resources).
    """
    try:
        scim_filter = parse(filter_text) if filter_text else None
    except ScimError as exc:
        raise InvalidInput(exc.message, field="filter") from exc
    where: list[ColumnElement[bool]] = []
    if source_name:
        source = sources.by_name(session, source_name)
        where.append(User.source_id == (source.id if source is not None else -1))
    page = filtered_page(
        session,
        User,
        where,
        [User.user_name_ci],
        start_index=start_index,
        count=count,
        scim_filter=scim_filter,
        translate=_filter_sql,
        view=user_resources.resources,
    )
    return {
        "items": representations(session, page.rows),
        "total": page.total,
        "startIndex": start_index,
    }


def _filter_sql(expr: Expr) -> ColumnElement[bool] | None:
    """The SQL of a user filter; an attribute the User schema lacks is the API's bad input."""
    try:
        return to_sql(expr)
    except ScimError as exc:
        raise InvalidInput(exc.message, field="filter") from exc


def by_ids(session: Session, user_ids: Iterable[str]) -> list[User]:
    """The users with these ids that exist, in id order."""
    ids = set(user_ids)
    if not ids:
        return []
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)))


_FORGET_DELETION = sa_delete(SuppressedUser).where(  # built once: every SCIM create runs it
    SuppressedUser.source_id == bindparam("source_id"),
    SuppressedUser.external_key == bindparam("key"),
)


def forget_deletion(session: Session, source_id: int, external_key: str) -> None:
    """Let a source create again a user an admin deleted (see ``delete(remember=True)``).

    An explicit create by the identity provider is such a request; a directory
    poll is not. One statement (an IdP's every create asks).
    """
    session.execute(_FORGET_DELETION, {"source_id": source_id, "key": external_key})
