"""A first import's page, worked out ahead as rows by the reader process.

Why: on a first import every entry is new, so what a page writes (users, their
emails, contacts, links, audit events, ldap_entries) can be worked out without
the database, from the state the run began with. The reader process does that
while this one writes the previous page; this one then only checks that the
assumptions still hold and hands the rows to the database.

The rows are the ones the ordinary path writes (the same functions make them:
:func:`connector.services.users.creation_rows`,
:func:`connector.services.linking.contact_rows`). A plan is only written when
everything it assumed is true in the page's transaction: no entry of the page
is known, none is suppressed or deleted within the grace period (those come
back the ordinary way), no entry of the source is marked gone, no
userName or externalId is taken, and the source's sync scope, the contact
mapping and the sync settings are those it was made with. Otherwise the page
goes the ordinary way, which decides entry by entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from connector.db.models import LdapEntry, Source, SuppressedUser
from connector.ldap.mapped_pages import MappedPage, entry_row
from connector.queries import bulk
from connector.queries.bulk import TableRows
from connector.queries.column_in import column_in
from connector.services import deletion, linking, sync_scope, uniqueness, user_columns, users


@dataclass(frozen=True)
class PlanBasis:
    """What a run's plans assume; taken when the run begins."""

    driver: str  # e.g. "postgresql+psycopg": whose bind rules the rows follow
    source_id: int
    source_name: str
    scope: dict[str, Any]  # the source's sync_scope
    state: linking.SyncState  # the contact mapping and the sync settings
    actor: str
    run_id: int
    fingerprint: str  # of the attribute map (stored with each change marker)
    # Entries of the source marked gone (users deactivated as missing) can come back
    # under a new id: only the ordinary path looks for them. Nothing marks entries
    # gone while the run holds the source's lock, so this is known once per run.
    gone_entries: bool

    def plans_in_reader(self, page_number: int) -> bool:
        """Who makes a page's plan. On PostgreSQL the reader process, while this one
        waits for the server. SQLite does its work in this process, so the two
        share it: the reader plans every other page (measured: both stay busy)."""
        return self.driver.startswith("postgresql") or page_number % 2 == 1

    @classmethod
    def load(
        cls,
        session: Session,
        driver: str,
        source_id: int,
        actor: str,
        run_id: int,
        fingerprint: str,
    ) -> PlanBasis:
        source = session.get(Source, source_id)
        assert source is not None
        state = users.load_state(session).loaded()  # the plan outlives this transaction
        gone = session.scalars(
            select(LdapEntry.id)
            .where(LdapEntry.source_id == source_id, LdapEntry.gone.is_(True))
            .limit(1)
        ).first()
        return cls(
            driver,
            source_id,
            source.name,
            dict(source.sync_scope),
            state,
            actor,
            run_id,
            fingerprint,
            gone is not None,
        )

    def holds(self, session: Session) -> bool:
        source = session.get(Source, self.source_id)
        return (
            source is not None
            and source.sync_scope == self.scope
            and users.load_state(session) == self.state
        )


@dataclass(frozen=True)
class ImportPlan:
    keys: list[str]  # entry ids
    names: list[str]  # lower-cased userNames
    tables: list[TableRows]  # in insert order (users before what refers to them)

    @property
    def created(self) -> int:
        return len(self.keys)


def _tables() -> list[Any]:
    return [*users.creation_tables(), *linking.contact_tables(), LdapEntry.__table__]


def plan_page(basis: PlanBasis, page: MappedPage) -> ImportPlan | None:
    """The page's rows, if every user in it is validated, prepared and unique in the
    page; None sends the page the ordinary way."""
    if basis.gone_entries or not page.users:
        return None
    if not all(m.validated and m.prepared and user_columns.fits(m.resource) for m in page.users):
        return None  # the ordinary path refuses, entry by entry, what does not fit
    source = SimpleNamespace(id=basis.source_id, name=basis.source_name, sync_scope=basis.scope)
    created = [
        users.CreatedUser.of(
            basis.source_id, sync_scope.decide(source, m.resource), m.resource, m.prepared
        )
        for m in page.users
    ]
    names = [u.user_name_ci for u in created]
    keys = [m.key for m in page.users]
    if len(set(names)) != len(names) or len(set(keys)) != len(keys):
        return None
    made = users.creation_rows(created, basis.source_name, basis.actor)
    contacts = linking.contact_rows(created, basis.state, basis.actor)
    entries = [
        entry_row(basis.source_id, basis.fingerprint, m, u.id, basis.run_id)
        for m, u in zip(page.users, created, strict=True)
    ]
    dialect = _dialect(basis.driver)
    groups = [
        made.users,
        made.emails,
        made.events,
        contacts.contacts,
        contacts.links,
        contacts.events,
        entries,
    ]
    tables = [
        bulk.prepare(dialect, table, rows) for table, rows in zip(_tables(), groups, strict=True)
    ]
    return ImportPlan(keys, names, tables)


@lru_cache(maxsize=4)
def _dialect(driver: str) -> Any:
    """The SQLAlchemy dialect whose bind rules a plan's rows follow (no connection)."""
    return make_url(f"{driver}://").get_dialect()()


def write_plan(session: Session, basis: PlanBasis, plan: ImportPlan) -> bool:
    """Write the plan if all it assumed holds (see the module's docstring)."""
    if not basis.holds(session):
        return False
    known = session.scalars(
        select(LdapEntry.id)
        .where(
            LdapEntry.source_id == basis.source_id,
            column_in(LdapEntry.entry_id, plan.keys),
        )
        .limit(1)
    ).first()
    if known is not None:
        return False
    suppressed = session.scalars(
        select(SuppressedUser.id).where(
            SuppressedUser.source_id == basis.source_id,
            column_in(SuppressedUser.external_key, plan.keys),
        )
    ).first()
    if suppressed is not None:
        return False
    # A user of the source deleted within the grace period comes back the ordinary way.
    if deletion.revivable(session, basis.source_id, plan.keys):
        return False
    # The entry ids are the users' externalIds.
    if uniqueness.holders(session, plan.names, [(basis.source_id, k) for k in plan.keys]).any():
        return False
    session.flush()
    connection = session.connection()
    for table, rows in zip(_tables(), plan.tables, strict=True):
        bulk.write(connection, table, rows)
    return True
