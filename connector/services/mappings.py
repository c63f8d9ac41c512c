"""Saved field mappings. Saving never touches contacts; a resync applies them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from connector.catalogue import Catalogue
from connector.db.models import ContactLink, MappingVersion, User
from connector.errors import InvalidInput, StaleVersion
from connector.mapping import CurrentMapping, MappingError, MappingRow, rows_from_json, validate
from connector.services import audit, ownership, resync_selection, sync_settings

# Built once: every write that touches a contact reads the current mapping.
_CURRENT = (
    select(MappingVersion.version, MappingVersion.rows)
    .order_by(MappingVersion.version.desc())
    .limit(1)
)


def current(session: Session) -> CurrentMapping:
    row = session.execute(_CURRENT).first()
    if row is None:
        return CurrentMapping(0, ())
    version, rows = row
    return CurrentMapping(version, tuple(MappingRow(u, c) for u, c in rows["rows"]))


def _save(
    session: Session,
    actor: str,
    rows: tuple[MappingRow, ...],
    action: str,
    based_on: int | None = None,
) -> CurrentMapping:
    """Save ``rows`` as the next version, unless they are the current rows already.

    ``based_on`` is the version the caller edited (optional for scripts): when another
    save came in between, the save is refused rather than silently overwriting it.
    Saving the current rows again changes nothing: no new version, no audit event, no
    contact becomes stale.
    """
    _take_turns(session)
    before = current(session)
    check_based_on(before, based_on)
    if rows == before.rows:
        return before
    version = before.version + 1
    session.add(
        MappingVersion(
            version=version,
            rows={"rows": [[r.user_field, r.contact_field] for r in rows]},
            created_by=actor,
        )
    )
    saved = CurrentMapping(version, rows)
    audit.record(session, actor, action, "mapping", str(version), before.to_json(), saved.to_json())
    return saved


def check_based_on(before: CurrentMapping, based_on: int | None) -> None:
    """A save (or its preview) edited from an older version than ``before`` is refused."""
    if based_on is not None and based_on != before.version:
        raise StaleVersion(
            f"the mapping was changed meanwhile: version {before.version} is current, "
            f"this save is based on version {based_on}; reload it and apply your edits again",
            current_version=before.version,
            field="version",
        )


def _take_turns(session: Session) -> None:
    """Saves of the mapping run one after the other, each on top of the last.

    Without this, two saves on PostgreSQL both read version N and both insert N + 1,
    and one fails on the primary key. The lock lets readers through and lasts until
    the transaction ends; the next statement then sees the committed version (read
    committed). SQLite's write transactions take the database lock up front already.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE mapping_versions IN SHARE ROW EXCLUSIVE MODE"))


def save(
    session: Session,
    catalogue: Catalogue,
    actor: str,
    raw_rows: Any,
    based_on: int | None = None,
) -> CurrentMapping:
    return _save(session, actor, parse_rows(catalogue, raw_rows), "mapping.save", based_on)


def parse_rows(catalogue: Catalogue, raw_rows: Any) -> tuple[MappingRow, ...]:
    """The rows of a save (or of its preview) checked against the catalogues, or
    InvalidInput naming the offending field."""
    try:
        return validate(rows_from_json(raw_rows), catalogue)
    except MappingError as exc:
        raise InvalidInput(str(exc), field=exc.field) from exc


def clear(session: Session, actor: str) -> CurrentMapping:
    return _save(session, actor, (), "mapping.clear")


def reset(session: Session, catalogue: Catalogue, actor: str) -> CurrentMapping:
    rows = validate((MappingRow(u, c) for u, c in catalogue.default_rows), catalogue)
    return _save(session, actor, rows, "mapping.reset")


def ensure_initial(session: Session, catalogue: Catalogue) -> None:
    """A fresh database starts with the default mapping as version 1."""
    if current(session).version == 0:
        reset(session, catalogue, "system")


def stale_contacts(session: Session, version: int) -> int:
    """Linked contacts built with an older mapping than ``version`` that "Update all
    synchronized users" would bring up to date (:mod:`.resync_selection`): a paused
    link or a reversed user's contact is not counted, since the job leaves it alone."""
    direction = sync_settings.load(session).direction
    local = ownership.local_source_ids(session)
    return (
        session.scalar(
            select(func.count())
            .select_from(ContactLink)
            .join(User, User.id == ContactLink.user_id)
            .where(
                ContactLink.mapping_version < version,
                *resync_selection.conditions(direction, local),
            )
        )
        or 0
    )


def representation(session: Session, current: CurrentMapping) -> dict[str, Any]:
    """The mapping as the admin API shows it, with how many contacts it has not reached yet."""
    return {**current.to_json(), "staleContacts": stale_contacts(session, current.version)}
