"""The user ↔ contact synchronisation core, called inside a caller's transaction.

Every path that changes a user or a contact (admin API, SCIM, LDAP poller,
jobs) ends up here, so the behaviour contract lives in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from connector import mapping as engine
from connector.db.models import Contact, ContactLink, User, new_id, utcnow
from connector.mapping import CurrentMapping, email_sort_key, search_text, sort_columns
from connector.queries import bulk
from connector.services import audit, contact_rules, deletion, uniqueness, user_columns
from connector.services.contact_rules import Action, ContactDecision
from connector.services.sync_settings import CONTACT_TO_USER, SyncSettings


class SyncState:
    """The mapping and settings one transaction works with.

    Each may be given as a function that reads it: it is then read when first
    asked for, once, so that a change of a user that syncs nothing (no contact)
    costs no reads of the mapping, settings or sources. ``local_sources``: the
    sources whose users the connector owns; only their contacts can be the source
    in reversed direction (connector.services.ownership).
    """

    def __init__(
        self,
        mapping: CurrentMapping | Callable[[], CurrentMapping],
        settings: SyncSettings | Callable[[], SyncSettings],
        local_sources: frozenset[int] | Callable[[], frozenset[int]] = frozenset(),
    ) -> None:
        self._mapping = mapping
        self._settings = settings
        self._local_sources = local_sources

    @property
    def mapping(self) -> CurrentMapping:
        if not isinstance(self._mapping, CurrentMapping):
            self._mapping = self._mapping()
        return self._mapping

    @property
    def settings(self) -> SyncSettings:
        if not isinstance(self._settings, SyncSettings):
            self._settings = self._settings()
        return self._settings

    @property
    def local_sources(self) -> frozenset[int]:
        if not isinstance(self._local_sources, frozenset):
            self._local_sources = self._local_sources()
        return self._local_sources

    def is_local(self, user: User | UserForContact) -> bool:
        return user.source_id in self.local_sources

    def loaded(self) -> SyncState:
        """All read now: for a state that outlives its transaction (the fast import's plan)."""
        return SyncState(self.mapping, self.settings, self.local_sources)

    def __reduce__(self) -> tuple[Any, ...]:
        return (SyncState, (self.mapping, self.settings, self.local_sources))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SyncState):
            return NotImplemented
        return (self.mapping, self.settings, self.local_sources) == (
            other.mapping,
            other.settings,
            other.local_sources,
        )

    def __hash__(self) -> int:
        return hash((self.mapping, self.settings, self.local_sources))

    def __repr__(self) -> str:
        return f"SyncState({self.mapping!r}, {self.settings!r}, {self.local_sources!r})"


def effective_direction(user: User, state: SyncState) -> str:
    return contact_rules.effective_direction(
        user.sync_direction, state.settings, local=state.is_local(user)
    )


def contact_decision(
    user: User | UserForContact, link: ContactLink | None, state: SyncState
) -> ContactDecision:
    """:func:`contact_rules.decide` for a user and its link (None: it has none)."""
    return contact_rules.decide(
        sync_on=user.sync_to_contact,
        user_active=user.active,
        own_direction=user.sync_direction,
        local=state.is_local(user),
        link_state=link.state if link is not None else None,
        settings=state.settings,
    )


def link_of_user(session: Session, user_id: str) -> ContactLink | None:
    return session.scalars(select(ContactLink).where(ContactLink.user_id == user_id)).first()


_LINK_AND_CONTACT = (  # built once: every change of a synchronised user asks it
    select(ContactLink, Contact)
    .join(Contact, Contact.id == ContactLink.contact_id)
    .where(ContactLink.user_id == bindparam("user_id"))
)


def link_and_contact(session: Session, user_id: str) -> tuple[ContactLink | None, Contact | None]:
    """The user's link and its contact in one query (a user's change updates both)."""
    found = session.execute(_LINK_AND_CONTACT, {"user_id": user_id}).first()
    return (found[0], found[1]) if found is not None else (None, None)


def link_of_contact(session: Session, contact_id: str) -> ContactLink | None:
    return session.scalars(select(ContactLink).where(ContactLink.contact_id == contact_id)).first()


def contact_json(contact: Contact) -> dict[str, Any]:
    return {"fields": dict(contact.fields), "active": contact.active}


def _write_contact(
    session: Session, contact: Contact, fields: dict[str, str], active: bool, actor: str, why: str
) -> bool:
    if contact.fields == fields and contact.active == active:
        return False
    before = contact_json(contact)
    contact.fields = fields
    for column, value in sort_columns(fields).items():
        setattr(contact, column, value)
    contact.active = active
    contact.updated_at = utcnow()
    audit.record(
        session,
        actor,
        "contact.update",
        "contact",
        contact.id,
        before,
        contact_json(contact),
        message=why,
    )
    return True


def _delete_contact(session: Session, contact: Contact, actor: str, why: str) -> None:
    audit.record(
        session,
        actor,
        "contact.delete",
        "contact",
        contact.id,
        contact_json(contact),
        None,
        message=why,
        diff=False,
    )
    session.delete(contact)


def delete_linked_contact(session: Session, link: ContactLink, actor: str, why: str) -> None:
    """The link goes first (it refers to the contact), then the contact, audited; both
    stay restorable for the grace period (connector.services.deletion)."""
    contact = session.get_one(Contact, link.contact_id)
    deletion.bury_contact(session, actor, contact, link, why)
    session.delete(link)
    session.flush()
    _delete_contact(session, contact, actor, why)


def deactivation_reason(user_name: str) -> str:
    """Why the contact of a deactivated user went (onDeactivate = "delete")."""
    return f"user {user_name} was deactivated"


def _create_linked_contact(
    session: Session, user: User, state: SyncState, actor: str, active: bool
) -> None:
    fields = engine.apply(user.resource, state.mapping.rows)
    contact = Contact(fields=fields, active=active, **sort_columns(fields))
    session.add(contact)
    session.flush()
    session.add(
        ContactLink(
            user_id=user.id,
            contact_id=contact.id,
            state="active",
            mapping_version=state.mapping.version,
        )
    )
    audit.record(
        session,
        actor,
        "contact.create",
        "contact",
        contact.id,
        None,
        contact_json(contact),
        message=f"synchronised from user {user.user_name}",
        diff=False,
    )


def _pull_contact_into_user(
    session: Session, user: User, contact: Contact, state: SyncState, actor: str
) -> bool:
    """Reversed direction: the contact's mapped fields overwrite the user's."""
    new_resource = engine.invert(contact.fields, state.mapping.rows, user.resource)
    if not new_resource.get("userName"):
        new_resource["userName"] = user.user_name
    if new_resource == user.resource:
        return False
    # The rules of any other write of a user: what would fail in the database is
    # the contact edit's bad input, and nothing of it is stored.
    user_columns.check(new_resource)
    before = user.resource
    apply_resource(user, new_resource)
    uniqueness.check(session, user)
    audit.record(
        session,
        actor,
        "user.update",
        "user",
        user.id,
        before,
        user.resource,
        message=f"taken from contact {contact.id} (direction contact_to_user)",
    )
    return True


def apply_resource(user: User, resource: dict[str, Any]) -> None:
    """Store a validated resource and keep the indexed columns in step."""
    user.resource = resource
    user.user_name = resource["userName"]
    user.user_name_ci = resource["userName"].lower()
    user.external_id = resource.get("externalId")
    user.active = bool(resource.get("active", True))
    user.updated_at = utcnow()


def sync_user(session: Session, user: User, state: SyncState, actor: str) -> None:
    """Bring the user's contact in line after the user changed or sync was asked for.

    What happens is :func:`contact_rules.decide`'s answer.
    """
    if not user.sync_to_contact:
        return  # the decision would be LEAVE, whatever the link: no need to look it up
    link, contact = link_and_contact(session, user.id)
    decision = contact_decision(user, link, state)
    if decision.action is Action.CREATE:
        _create_linked_contact(session, user, state, actor, decision.active)
    elif link is not None and decision.action is Action.DELETE:
        delete_linked_contact(session, link, actor, deactivation_reason(user.user_name))
    elif link is not None and contact is not None and decision.action is Action.UPDATE:
        fields = engine.apply(user.resource, state.mapping.rows)
        why = f"synchronised from user {user.user_name}"
        _write_contact(session, contact, fields, decision.active, actor, why)
        link.mapping_version = state.mapping.version


def switch_effect(enabled: bool, link_state: str | None) -> str:
    """What turning a user's switch to ``enabled`` does to its link: "pause" (an active
    link), "resume" (a paused one), "sync" (switched on with an active link or none:
    :func:`sync_user` decides, creating the contact when the rules say so) or "none".
    The one place :func:`set_sync` and the scope preview ask."""
    if not enabled:
        return "pause" if link_state == "active" else "none"
    return "resume" if link_state == "paused" else "sync"


def set_sync(
    session: Session,
    user: User,
    enabled: bool,
    state: SyncState,
    actor: str,
    why: str | None = None,
) -> None:
    """Turn the sync switch: on resumes (or creates) the link, off pauses it."""
    if enabled != user.sync_to_contact:
        audit.record(
            session,
            actor,
            "user.sync",
            "user",
            user.id,
            {"syncToContact": user.sync_to_contact},
            {"syncToContact": enabled},
            message=why,
        )
    user.sync_to_contact = enabled
    link = link_of_user(session, user.id)
    effect = switch_effect(enabled, link.state if link is not None else None)
    if effect == "none":
        return
    if effect == "pause":
        assert link is not None
        why = f"sync switched off for user {user.user_name}"
        _move_link(session, link, "link.pause", "paused", actor, why)
        return
    if effect == "resume":
        assert link is not None
        why = f"sync switched on for user {user.user_name}"
        _move_link(session, link, "link.resume", "active", actor, why)
        if effective_direction(user, state) == CONTACT_TO_USER:
            contact = session.get_one(Contact, link.contact_id)
            _pull_contact_into_user(session, user, contact, state, actor)
            return
    sync_user(session, user, state, actor)


def _move_link(
    session: Session, link: ContactLink, action: str, to: str, actor: str, why: str
) -> None:
    """Pause (``to`` "paused") or resume ("active") a link, audited as ``action``."""
    audit.record(
        session,
        actor,
        action,
        "contact",
        link.contact_id,
        {"state": link.state},
        {"state": to},
        message=why,
    )
    link.state = to


def contact_edited(
    session: Session, contact: Contact, user: User, state: SyncState, actor: str
) -> None:
    """Reversed direction: a contact edit flows back into the user."""
    _pull_contact_into_user(session, user, contact, state, actor)


def user_deleted(
    session: Session,
    user: User,
    state: SyncState,
    actor: str,
    link: ContactLink | None,
    contact: Contact | None,
) -> None:
    """Apply "Delete contact when user is deleted" before the user row goes (``link``
    and ``contact``: the user's, as :func:`link_and_contact` read them)."""
    if link is None or contact is None:
        return
    session.delete(link)
    session.flush()
    if state.settings.deleteContactWithUser:
        _delete_contact(session, contact, actor, f"user {user.user_name} was deleted")
    else:
        audit.record(
            session,
            actor,
            "link.remove",
            "contact",
            contact.id,
            {"managedBy": user.id},
            {"managedBy": None},
            message=f"user {user.user_name} was deleted; the contact stays, editable",
            diff=False,
        )


class PreparedContact(Protocol):
    """A new user's contact worked out ahead under mapping ``mapping_version`` (a
    directory's first import does it in another process:
    connector.ldap.fast_import.prepared)."""

    mapping_version: int
    contact_id: str
    fields: dict[str, str]
    fields_json: str  # the fields as json.dumps writes them
    search_text: str

    def contact_state_json(self, active: bool) -> str:
        """json.dumps({"fields": fields, "active": active}), as text."""
        ...


class UserForContact(Protocol):
    """What contact creation reads of a new user (an ORM User or a bulk-written one)."""

    id: str
    source_id: int
    user_name: str
    resource: dict[str, Any]
    sync_to_contact: bool
    sync_direction: str | None
    active: bool


def create_linked_contacts(
    session: Session, users: Sequence[UserForContact], state: SyncState, actor: str
) -> None:
    """Bulk form of sync_user for new users with the switch on (no link exists yet).

    Why: a directory's first import creates tens of thousands of users; one flush
    and one audit insert per batch instead of per user keeps it near read speed.
    """
    rows = contact_rows(users, state, actor)
    if rows.contacts:
        session.flush()
        write_contacts(session.connection(), rows)


@dataclass(frozen=True)
class ContactRows:
    """The rows new users' contacts make: contacts, links, one audit event each."""

    contacts: list[dict[str, Any]]
    links: list[dict[str, Any]]
    events: list[dict[str, Any]]


def contact_rows(users: Sequence[UserForContact], state: SyncState, actor: str) -> ContactRows:
    """Needs no database: a first import's reader process makes these too. Users
    ``prepared`` under the current mapping version bring their fields along."""
    rows = ContactRows([], [], [])
    users = [user for user in users if user.sync_to_contact]  # the others: LEAVE, no link
    if not users:
        return rows  # and the mapping is not read
    version = state.mapping.version
    for user in users:
        decision = contact_decision(user, None, state)
        if decision.action is not Action.CREATE:
            continue
        prepared: PreparedContact | None = getattr(user, "prepared", None)
        active = decision.active
        if prepared is not None and prepared.mapping_version == version:
            fields, contact_id = prepared.fields, prepared.contact_id
            fields_value: Any = bulk.JSONText(prepared.fields_json)
            text = prepared.search_text
            after: Any = bulk.JSONText(prepared.contact_state_json(active))
        else:
            fields = engine.apply(user.resource, state.mapping.rows)
            contact_id, fields_value, text = new_id(), fields, search_text(fields)
            after = {"fields": dict(fields), "active": active}
        now = utcnow()
        rows.contacts.append(
            {
                "id": contact_id,
                "fields": fields_value,
                "search_text": text,
                "sort_email": email_sort_key(fields),
                "active": active,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        rows.links.append(
            {
                "user_id": user.id,
                "contact_id": contact_id,
                "state": "active",
                "mapping_version": version,
                "created_at": now,
            }
        )
        rows.events.append(
            audit.event(
                actor,
                "contact.create",
                "contact",
                contact_id,
                None,
                after,
                message=f"synchronised from user {user.user_name}",
                diff=False,
            )
        )
    return rows


def contact_tables() -> tuple[Any, Any, Any]:
    """The tables of :class:`ContactRows`, in its order."""
    from connector.db.models import AuditEvent

    return Contact.__table__, ContactLink.__table__, AuditEvent.__table__


def write_contacts(connection: Any, rows: ContactRows) -> None:
    for table, table_rows in zip(
        contact_tables(), (rows.contacts, rows.links, rows.events), strict=True
    ):
        bulk.insert_rows(connection, table, table_rows)
