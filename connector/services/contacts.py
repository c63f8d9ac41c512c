"""The contacts module: manual contacts, and read-only synchronised ones."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.catalogue import Catalogue
from connector.db.models import Contact, ContactLink, User, utcnow
from connector.errors import InvalidInput, NotFound, ReadOnlyContact
from connector.mapping import sort_columns
from connector.queries import contact_order
from connector.services import (
    audit,
    contact_rules,
    email_address,
    linking,
    ownership,
    page_cursor,
    sync_settings,
)
from connector.services import users as user_service
from connector.services.linking import SyncState, contact_json
from connector.services.sync_settings import CONTACT_TO_USER, SyncSettings
from scim.input_limits import MAX_INDEX, InputRefused, check_search_text


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


# The fields that name a contact in the address book; a contact needs one of them
# (those its catalogue has), else it is an empty row "(no name)".
NAMING_FIELDS = ("displayName", "firstName", "lastName", "company", "email")


def _check_content(catalogue: Catalogue, fields: dict[str, str], *, manual: bool) -> None:
    """What an admin writes: e-mail fields hold addresses (connector.services.email_address),
    and a manual contact has a name, a company or an e-mail address. (A synchronised
    contact is whatever the mapping makes of its user, which always has a user name.)"""
    for key in catalogue.contact_ids_of_type("email"):
        if key in fields:
            email_address.check(fields[key], key)
    if not manual:
        return
    naming = [f for f in catalogue.contact_fields if f.id in NAMING_FIELDS]
    if not naming:  # a catalogue without any of them: any one field will do
        naming = list(catalogue.contact_fields)
    if not any(fields.get(f.id, "").strip() for f in naming):
        labels = ", ".join(f.label.lower() for f in naming)
        raise InvalidInput(
            f"a contact needs at least one of: {labels} (all of them are empty)",
            field="fields",
        )


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
    _check_content(catalogue, fields, manual=True)
    contact = Contact(fields=fields, active=True, **sort_columns(fields))
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
    _check_content(catalogue, new_fields, manual=managed is None)
    before = contact_json(contact)
    contact.fields = new_fields
    for column, value in sort_columns(new_fields).items():
        setattr(contact, column, value)
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
        # A correlated EXISTS (one unique-index probe per row), so that a page is read
        # in the sort key's index order and stops after its rows; an IN list made
        # SQLite read every linked contact and sort them all for each page.
        linked = (
            select(ContactLink.id)
            .where(ContactLink.contact_id == Contact.id, ContactLink.state == "active")
            .exists()
        )
        where.append(linked if managed else ~linked)
    return where


def _total(session: Session, q: str | None, managed: bool | None, where: list[Any]) -> int:
    """How many contacts the listing has. Without a search text, from the links'
    and the contacts' counts (a contact has at most one link), not a scan of both."""
    if q:
        return session.scalar(select(func.count()).select_from(Contact).where(*where)) or 0
    everyone = session.scalar(select(func.count()).select_from(Contact)) or 0
    if managed is None:
        return everyone
    linked = (
        session.scalar(
            select(func.count()).select_from(ContactLink).where(ContactLink.state == "active")
        )
        or 0
    )
    return linked if managed else everyone - linked


@dataclass(frozen=True)
class Order:
    """A sort order of the listing: its key (contact_order.SORT_KEYS) and direction."""

    sort_by: str = contact_order.NAME
    descending: bool = False


def order_of(sort_by: str | None, sort_order: str | None) -> Order:
    """The order a request asks for; anything else is 400 naming the parameter."""
    if sort_by in (None, ""):
        sort_by = contact_order.NAME
    if sort_by not in contact_order.SORT_KEYS:
        raise InvalidInput(
            f"'sortBy' must be one of {', '.join(contact_order.SORT_KEYS)}", field="sortBy"
        )
    if sort_order not in (None, "", "ascending", "descending"):
        raise InvalidInput("'sortOrder' must be ascending or descending", field="sortOrder")
    return Order(sort_by, sort_order == "descending")


def _cursor(contact: Contact, order: Order, position: int) -> str:
    """Where the page after ``contact`` starts; ``position`` is its 1-based index."""
    key = contact_order.key_value(contact, order.sort_by)
    return page_cursor.encode(
        {
            "s": order.sort_by,
            "d": order.descending,
            "k": key.isoformat() if isinstance(key, datetime) else key,
            "i": contact.id,
            "n": position,
        }
    )


@dataclass(frozen=True)
class After:
    """A decoded cursor: the last row's key and id, and the next page's index."""

    key: Any
    last_id: str
    start_index: int


def _after(cursor: str, order: Order) -> After:
    position = page_cursor.decode(cursor)
    if position.get("s") != order.sort_by or position.get("d") is not order.descending:
        raise InvalidInput(
            "'cursor' was returned for another sort order; start again without it",
            field="cursor",
        )
    key, last_id, start = position.get("k"), position.get("i"), position.get("n")
    if (
        not isinstance(key, str)
        or not isinstance(last_id, str)
        or not isinstance(start, int)
        or isinstance(start, bool)
        or not 1 <= start <= MAX_INDEX
    ):
        raise page_cursor.unreadable()
    if order.sort_by != contact_order.UPDATED:
        return After(key, last_id, start)
    try:
        moment = datetime.fromisoformat(key)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise page_cursor.unreadable() from exc
    return After(moment.replace(tzinfo=UTC), last_id, start)


def page(
    session: Session,
    *,
    q: str | None,
    managed: bool | None,
    offset: int,
    limit: int,
    order: Order = Order(),
    after: After | None = None,
) -> tuple[list[Contact], int]:
    """One page in ``order``: after a cursor's row (an index range) or at an offset.

    The offset is taken over the ids alone (the sort key's index holds them), and
    only the page's rows are read whole.
    """
    where = _conditions(q, managed)
    total = _total(session, q, managed, where)
    terms = contact_order.order_by(order.sort_by, order.descending)
    if after is not None:
        where.append(contact_order.after(order.sort_by, order.descending, after.key, after.last_id))
        offset = 0
    ids = select(Contact.id).where(*where).order_by(*terms).offset(offset).limit(limit).subquery()
    items = session.scalars(select(Contact).join(ids, ids.c.id == Contact.id).order_by(*terms))
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
    session: Session,
    *,
    q: str | None,
    managed: bool | None,
    start_index: int,
    count: int,
    sort_by: str | None = None,
    sort_order: str | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The admin API's contact list: a search text and managed or not narrow it;
    sorted by name, e-mail or last update. ``cursor`` (a previous page's
    ``nextCursor``) continues after that page's last row, whatever ``start_index``
    says; ``nextCursor`` is null on the last page."""
    if q:
        try:
            check_search_text(q, "q")
        except InputRefused as exc:
            raise InvalidInput(exc.message, field="q") from exc
    order = order_of(sort_by, sort_order)
    after = _after(cursor, order) if cursor else None
    if after is not None:
        start_index = after.start_index
    items, total = page(
        session,
        q=q,
        managed=managed,
        offset=start_index - 1,
        limit=count,
        order=order,
        after=after,
    )
    last = start_index + len(items) - 1
    more = bool(items) and len(items) == count and last < total
    return {
        "items": representations(session, items),
        "total": total,
        "startIndex": start_index,
        "nextCursor": _cursor(items[-1], order, last + 1) if more else None,
    }
