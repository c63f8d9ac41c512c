"""The contacts module: manual contacts, and read-only synchronised ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.catalogue import Catalogue
from connector.db.models import Contact, ContactLink, User, utcnow
from connector.errors import InvalidInput, NotFound, ReadOnlyContact
from connector.services import audit, contact_rules, linking, ownership, sync_settings
from connector.services import users as user_service
from connector.services.linking import SyncState, contact_json, search_text
from connector.services.sync_settings import CONTACT_TO_USER, SyncSettings
from scim.input_limits import InputRefused, check_search_text


def _validated_fields(catalogue: Catalogue, fields: Any) -> dict[str, str]:
    if not isinstance(fields, dict):
        raise InvalidInput("'fields' must be an object of contact field → text", field="fields")
    known = catalogue.contact_ids
    out: dict[str, str] = {}
    for key, value in fields.items():
        if key not in known:
            raise InvalidInput(f"unknown contact field {key!r}", field=key)
        if value is None or value == "":
            continue
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise InvalidInput(f"contact field {key!r} must be text", field=key)
        out[key] = str(value)
    return out


def _body_fields(body: Any) -> Any:
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    unknown = set(body) - {"fields", "id", "managedBy", "mappingVersion", "active"}
    if unknown:
        key = sorted(unknown)[0]
        raise InvalidInput(f"unknown key {key!r}; contact values go under 'fields'", field=key)
    if "fields" not in body:
        raise InvalidInput("'fields' is required", field="fields")
    return body["fields"]


def get(session: Session, contact_id: str) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"no contact with id {contact_id!r}")
    return contact


def create(session: Session, catalogue: Catalogue, actor: str, body: Any) -> Contact:
    fields = _validated_fields(catalogue, _body_fields(body))
    contact = Contact(fields=fields, search_text=search_text(fields), active=True)
    session.add(contact)
    session.flush()
    audit.record(
        session,
        actor,
        "contact.create",
        "contact",
        contact.id,
        None,
        contact_json(contact),
        diff=False,
    )
    return contact


def _managing_user(session: Session, contact: Contact) -> tuple[ContactLink, User] | None:
    link = linking.link_of_contact(session, contact.id)
    if link is None or link.state != "active":
        return None
    user = session.get(User, link.user_id)
    return (link, user) if user is not None else None


def read_only_reason(
    user: User, source: tuple[str, str] | None, settings: SyncSettings
) -> str | None:
    """Why the contact of ``user`` (its active link) cannot be edited here, or None
    when it can: the direction is reversed and the connector owns the user.

    ``source`` is the user's source as (name, kind). The one rule of every contact
    write (the 409 says it) and of the marker the console shows.
    """
    name, kind = source if source is not None else ("?", None)
    local = not ownership.owned_by_source(kind)
    direction = contact_rules.effective_direction(user.sync_direction, settings, local=local)
    if direction == CONTACT_TO_USER:
        return None
    if not local:
        return ownership.managed_by(f"user {user.user_name!r}", name, kind)
    return (
        f"user {user.user_name!r} (id {user.id}) is its data source; "
        "edit the user instead, or switch off its synchronisation"
    )


def _check_writable(session: Session, contact: Contact, user: User, state: SyncState) -> None:
    source = ownership.kinds(session).get(user.source_id)
    reason = read_only_reason(user, source, state.settings)
    if reason is not None:
        raise ReadOnlyContact(f"contact {contact.id} is synchronised and read-only: {reason}")


def update(
    session: Session,
    catalogue: Catalogue,
    actor: str,
    contact_id: str,
    body: Any,
    *,
    partial: bool,
) -> Contact:
    """PUT (all fields) or PATCH (named fields). Managed contacts refuse unless reversed."""
    contact = get(session, contact_id)
    changes = _body_fields(body)
    if not isinstance(changes, dict):
        raise InvalidInput("'fields' must be an object of contact field → text", field="fields")
    managed = _managing_user(session, contact)
    state = user_service.load_state(session)
    if managed is not None:
        _check_writable(session, contact, managed[1], state)
    if partial:
        merged = {**contact.fields, **changes}
        new_fields = _validated_fields(catalogue, merged)
    else:
        new_fields = _validated_fields(catalogue, changes)
    if new_fields == contact.fields:
        return contact
    before = contact_json(contact)
    contact.fields = new_fields
    contact.search_text = search_text(new_fields)
    contact.updated_at = utcnow()
    audit.record(
        session, actor, "contact.update", "contact", contact.id, before, contact_json(contact)
    )
    if managed is not None:
        linking.contact_edited(session, contact, managed[1], state, actor)
    return contact


def delete(session: Session, actor: str, contact_id: str) -> None:
    """Delete a contact; with the direction reversed, maybe its user too."""
    contact = get(session, contact_id)
    managed = _managing_user(session, contact)
    state = user_service.load_state(session)
    user: User | None = None
    if managed is not None:
        link, user = managed
        _check_writable(session, contact, user, state)
        session.delete(link)
        session.flush()
    else:
        paused = linking.link_of_contact(session, contact.id)
        if paused is not None:
            session.delete(paused)
            session.flush()
    audit.record(
        session,
        actor,
        "contact.delete",
        "contact",
        contact.id,
        contact_json(contact),
        None,
        diff=False,
    )
    session.delete(contact)
    session.flush()
    if user is None:
        return
    if state.settings.deleteUserWithContact:
        user_service.delete(session, actor, user.id, remember=True)
    else:
        # The user stays; its switch goes off so that the contact is not recreated behind
        # the admin's back when the direction is later set back.
        linking.set_sync(session, user, False, state, actor, why="its contact was deleted")


def representation(
    contact: Contact,
    link: ContactLink | None,
    user: User | None,
    settings: SyncSettings,
    source: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """A contact for the admin API; ``source`` is its user's source as (name, kind)."""
    managed_by = None
    if link is not None and user is not None and link.state == "active":
        local = source is not None and not ownership.owned_by_source(source[1])
        reason = read_only_reason(user, source, settings)
        managed_by = {
            "userId": user.id,
            "userName": user.user_name,
            "source": source[0] if source is not None else None,
            "direction": contact_rules.effective_direction(
                user.sync_direction, settings, local=local
            ),
            "readOnly": reason is not None,
            "reason": reason,
        }
    return {
        "id": contact.id,
        "fields": dict(contact.fields),
        "managedBy": managed_by,
        "linkState": link.state if link is not None else None,
        "mappingVersion": link.mapping_version if link is not None else None,
        "active": contact.active,
        "version": contact.version,
        "updatedAt": contact.updated_at.isoformat(),
    }


def representations(session: Session, contacts: list[Contact]) -> list[dict[str, Any]]:
    ids = [c.id for c in contacts]
    rows = (
        session.execute(
            select(ContactLink, User)
            .join(User, User.id == ContactLink.user_id)
            .where(ContactLink.contact_id.in_(ids))
        ).all()
        if ids
        else []
    )
    by_contact = {link.contact_id: (link, user) for link, user in rows}
    settings = sync_settings.load(session)
    kinds = ownership.kinds(session) if rows else {}
    out = []
    for contact in contacts:
        link, user = by_contact.get(contact.id, (None, None))
        source = kinds.get(user.source_id) if user is not None else None
        out.append(representation(contact, link, user, settings, source))
    return out


def _conditions(q: str | None, managed: bool | None) -> list[Any]:
    where: list[Any] = []
    if q:
        needle = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(Contact.search_text.like(f"%{needle}%", escape="\\"))
    if managed is not None:
        linked = select(ContactLink.contact_id).where(ContactLink.state == "active")
        where.append(Contact.id.in_(linked) if managed else Contact.id.not_in(linked))
    return where


def page(
    session: Session, *, q: str | None, managed: bool | None, offset: int, limit: int
) -> tuple[list[Contact], int]:
    where = _conditions(q, managed)
    total = session.scalar(select(func.count()).select_from(Contact).where(*where)) or 0
    items = session.scalars(
        select(Contact)
        .where(*where)
        .order_by(Contact.search_text, Contact.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return list(items), total


def iter_all(session: Session, batch: int = 1000) -> Iterator[Contact]:
    last = ""
    while True:
        rows = session.scalars(
            select(Contact).where(Contact.id > last).order_by(Contact.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def listing(
    session: Session, *, q: str | None, managed: bool | None, start_index: int, count: int
) -> dict[str, Any]:
    """The admin API's contact list: a search text and managed or not narrow it."""
    if q:
        try:
            check_search_text(q, "q")
        except InputRefused as exc:
            raise InvalidInput(exc.message, field="q") from exc
    items, total = page(session, q=q, managed=managed, offset=start_index - 1, limit=count)
    return {"items": representations(session, items), "total": total, "startIndex": start_index}
