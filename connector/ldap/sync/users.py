"""Directory entries → users, through the user services, one transaction per page.

Why pages as transactions: a page is the unit the directory hands over, so a
run cut short keeps what it committed, and a re-run finds those entries
unchanged (content hash) instead of writing them again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.orm import Session

from connector.db.models import LdapEntry, Source, SuppressedUser, User
from connector.errors import ServiceError
from connector.ldap import entries
from connector.ldap.entries import Entry
from connector.ldap.fast_import.import_plan import ImportPlan, PlanBasis, plan_page, write_plan
from connector.ldap.fast_import.transfer import PackedPage, unpack
from connector.ldap.fast_import.user_templates import UserBuilder
from connector.ldap.mapped_pages import (
    Mapped,
    MappedPage,
    MarkerPage,
    entry_row,
    map_page,
    stored_marker,
)
from connector.ldap.settings import LdapSourceConfig
from connector.ldap.sync.base import Counts
from connector.queries import bulk
from connector.queries.column_in import column_in
from connector.services import linking, sync_scope, users
from connector.services.batch_sizes import BatchSizes
from connector.services.context import Context
from connector.services.failures import is_unavailable, reason

T = TypeVar("T")

# PostgreSQL's planner statistics are refreshed when a run has created this many
# users, then each time that number grows eightfold. The first refresh is the one
# that matters (plans made for empty tables); after it the planner scales its
# row estimates by the tables' current size on its own.
ANALYZE_FIRST = 10_000
ANALYZE_GROWTH = 8
GROWING_TABLES = ("users", "ldap_entries", "contacts", "contact_links", "user_emails")


class UserSynchroniser:
    """Writes one source's entries as users; finds and removes the missing ones."""

    def __init__(self, ctx: Context, cfg: LdapSourceConfig, source_id: int, actor: str) -> None:
        self.ctx, self.cfg, self.source_id, self.actor = ctx, cfg, source_id, actor
        self.fingerprint = entries.map_fingerprint(cfg)
        self.builder = UserBuilder(cfg)
        self._created = 0
        self._analyze_at = ANALYZE_FIRST

    # -- reading -------------------------------------------------------------------

    def full_attributes(self) -> list[str]:
        return self.cfg.read_attributes()

    def marker_attributes(self) -> list[str]:
        return [self.cfg.id_attribute, self.cfg.change_attribute]

    def stored_marker(self, marker: str) -> str:
        return stored_marker(self.fingerprint, marker)

    # -- comparing (reconciliation) ------------------------------------------------

    def differing(self, page: MarkerPage, run_id: int) -> tuple[list[str], Counts]:
        """Keys whose change marker differs from the stored one; the rest are marked seen."""
        counts = Counts()
        counts.add(page.counts)
        markers = page.stored

        def work(session: Session) -> tuple[list[str], int]:
            keys = list(markers)
            # One statement marks the entries whose stored marker and DN are the same;
            # only the few others are looked up (stored or new, suppressed).
            same, stored = self._mark_same(session, markers, run_id)
            others = [k for k in keys if k not in same]
            if stored is None:
                stored = (
                    set(
                        session.scalars(
                            select(LdapEntry.entry_id).where(
                                LdapEntry.source_id == self.source_id,
                                column_in(LdapEntry.entry_id, others),
                                LdapEntry.gone.is_(False),
                            )
                        )
                    )
                    if others
                    else set()
                )
            suppressed = self._suppressed(session, [k for k in others if k not in stored])
            return [k for k in others if k not in suppressed], len(suppressed)

        todo, suppressed = self.ctx.run(work)
        counts.suppressed += suppressed
        counts.unchanged += len(markers) - len(todo) - suppressed
        return todo, counts

    def _mark_same(
        self, session: Session, markers: dict[str, tuple[str, str]], run_id: int
    ) -> tuple[set[str], set[str] | None]:
        """Mark seen the present entries whose stored (marker, DN) equals the read one:
        their keys, and the keys stored at all when that was learnt on the way.

        Why one statement on PostgreSQL: reconciliation compares every entry of the
        directory, and a lookup plus an update per page (two round trips with a
        thousand parameters each) cost more than reading the page.
        """
        if not markers:
            return set(), set()
        connection = session.connection()
        if self.ctx.db.dialect == "postgresql":
            rows = connection.execute(
                text(
                    "UPDATE ldap_entries AS e SET seen_run = :run "
                    "FROM unnest(CAST(:keys AS text[]), CAST(:markers AS text[]), "
                    "CAST(:dns AS text[])) AS v(k, m, d) "
                    "WHERE e.source_id = :source AND e.gone = false AND e.entry_id = v.k "
                    "AND e.change_marker = v.m AND e.dn = v.d RETURNING e.entry_id"
                ),
                {
                    "run": run_id,
                    "source": self.source_id,
                    "keys": list(markers),
                    "markers": [m for m, _ in markers.values()],
                    "dns": [d for _, d in markers.values()],
                },
            )
            return set(rows.scalars()), None
        # SQLite (in process, no round trips): a lookup, then one update of the same ones.
        table = LdapEntry.__table__
        stored = {
            key: (marker, dn)
            for key, marker, dn in connection.execute(
                select(table.c.entry_id, table.c.change_marker, table.c.dn).where(
                    table.c.source_id == self.source_id,
                    table.c.entry_id.in_(list(markers)),
                    table.c.gone.is_(False),
                )
            )
        }
        same = {key for key, value in stored.items() if markers[key] == value}
        self._mark_seen(session, list(same), run_id)
        return same, set(stored)

    def _mark_seen(self, session: Session, keys: list[str], run_id: int) -> None:
        if keys:
            session.execute(
                update(LdapEntry)
                .where(LdapEntry.source_id == self.source_id, LdapEntry.entry_id.in_(keys))
                .values(seen_run=run_id)
            )

    def _suppressed(self, session: Session, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        if not keys:
            return set()
        return set(
            session.scalars(
                select(SuppressedUser.external_key).where(
                    SuppressedUser.source_id == self.source_id,
                    column_in(SuppressedUser.external_key, keys),
                )
            )
        )

    # -- writing -------------------------------------------------------------------

    def map_page(self, page: list[Entry], *, count_read: bool = True) -> MappedPage:
        return map_page(self.builder, page, count_read=count_read)

    def write_page(
        self, page: list[Entry], run_id: int | None, *, count_read: bool = True
    ) -> Counts:
        return self.write_mapped(self.map_page(page, count_read=count_read), run_id)

    def write_mapped(self, page: MappedPage, run_id: int | None) -> Counts:
        """Write the users whose content changed, in one transaction; others only touched."""
        counts = Counts()
        counts.add(page.counts)

        def work(session: Session) -> Counts:
            page_counts = Counts()
            if run_id is not None:  # an entry that exists but cannot be mapped is not missing
                self._mark_seen(session, page.unmappable, run_id)
            self._write(session, page.users, run_id, page_counts)
            return page_counts

        counts.add(self.ctx.run(work))
        self._grew(counts)
        return counts

    def write_first_import_page(
        self,
        packed: PackedPage,
        plan: ImportPlan | None,
        reader_planned: bool,
        basis: PlanBasis,
        run_id: int,
    ) -> Counts:
        """A first import's page (the fast path): written from its plan if what the
        plan assumed holds, else as any page. ``reader_planned``: the reader process
        tried to plan it (``plan`` None: the page cannot be planned); if not, it is
        planned here. The page's users are unpacked only when needed (see the
        transfer module)."""
        page: MappedPage | PackedPage = packed
        if not reader_planned:
            page = unpack(packed)
            plan = plan_page(basis, page)
        if plan is None:
            return self.write_mapped(_unpacked(page), run_id)

        def work(session: Session) -> bool:
            try:
                with session.begin_nested():
                    if not write_plan(session, basis, plan):
                        return False
            except Exception as exc:  # a name taken meanwhile, a value refused: one by one
                if is_unavailable(exc):
                    raise
                return False
            self._mark_seen(session, page.unmappable, run_id)
            return True

        if not self.ctx.run(work):
            return self.write_mapped(_unpacked(page), run_id)
        counts = Counts(created=plan.created)
        counts.add(page.counts)
        self._grew(counts)
        return counts

    def _grew(self, counts: Counts) -> None:
        self._created += counts.created
        if self._created >= self._analyze_at:
            self._analyze_at *= ANALYZE_GROWTH
            self._refresh_statistics()

    def _refresh_statistics(self) -> None:
        """PostgreSQL plans lookups on tables that grew from empty as if they were still
        tiny (sequential scans) until autovacuum analyses them, which made a large first
        import slow down page by page; refreshing the statistics keeps pages flat."""
        if self.ctx.db.dialect != "postgresql":
            return
        with self.ctx.db.engine.begin() as conn:
            conn.execute(text(f"ANALYZE {', '.join(GROWING_TABLES)}"))

    def _write(
        self, session: Session, mapped: list[Mapped], run_id: int | None, counts: Counts
    ) -> None:
        if not mapped:
            return
        source = session.get(Source, self.source_id)
        assert source is not None
        rows = {
            r.entry_id: r
            for r in session.scalars(
                select(LdapEntry).where(
                    LdapEntry.source_id == self.source_id,
                    column_in(LdapEntry.entry_id, [m.key for m in mapped]),
                )
            )
        }
        user_ids = [r.user_id for r in rows.values()]
        by_id = {u.id: u for u in session.scalars(select(User).where(column_in(User.id, user_ids)))}
        unknown = [m.key for m in mapped if m.key not in rows]
        suppressed = self._suppressed(session, unknown)
        # Only an unknown entry can be a returning one; the query reads the whole
        # source when nothing is gone, so it is not made for pages of known entries.
        any_gone = (
            session.scalars(
                select(LdapEntry.id)
                .where(LdapEntry.source_id == self.source_id, LdapEntry.gone.is_(True))
                .limit(1)
            ).first()
            if set(unknown) - suppressed
            else None
        )
        fresh: list[Mapped] = []
        changed: list[tuple[LdapEntry, Mapped]] = []
        for item in mapped:
            row = rows.get(item.key)
            if row is None and item.key in suppressed:
                counts.suppressed += 1
                continue
            if row is None and any_gone is not None:
                row = self._returning(session, item, by_id)
            if row is None:
                fresh.append(item)
                continue
            if row.content_hash == item.digest and not row.gone:
                counts.unchanged += 1
                self._touch(row, item, run_id)
            elif row.user_id not in by_id:  # pragma: no cover - deleted meanwhile
                counts.error(f"{item.dn}: its user was deleted meanwhile")
            else:
                changed.append((row, item))
        self._update_all(session, source, changed, by_id, run_id, counts)
        self._create_all(session, source, fresh, run_id, counts)

    def _update_all(
        self,
        session: Session,
        source: Source,
        changed: list[tuple[LdapEntry, Mapped]],
        by_id: dict[str, User],
        run_id: int | None,
        counts: Counts,
    ) -> None:
        """Changed entries in one go; if that fails as a whole (a concurrent writer won
        a race, the database refused a value), the same write entry by entry, so that
        only the entry concerned fails, as an entry error with its DN."""
        if not changed:
            return
        state = users.load_state(session)
        _whole_then_each(
            changed,
            lambda group: self._update_group(session, source, group, by_id, run_id, state),
            counts,
            dn=lambda one: one[1].dn,
            failed=lambda one: self._seen(one[0], run_id),
        )

    def _update_group(
        self,
        session: Session,
        source: Source,
        group: list[tuple[LdapEntry, Mapped]],
        by_id: dict[str, User],
        run_id: int | None,
        state: Any,
    ) -> Counts:
        counts = Counts()
        pairs = [(by_id[row.user_id], item.resource) for row, item in group]
        with session.begin_nested():
            results = users.replace_many(session, self.actor, pairs)
            for (row, item), result in zip(group, results, strict=True):
                if isinstance(result, ServiceError):
                    counts.error(f"{item.dn}: {result.message}")
                    self._seen(row, run_id)
                    continue
                self._rescope(session, source, result, item, state)
                self._written(row, item, run_id)
                counts.updated += 1
        return counts

    def _written(self, row: LdapEntry, item: Mapped, run_id: int | None) -> None:
        row.content_hash, row.gone = item.digest, False
        self._touch(row, item, run_id)

    @staticmethod
    def _seen(row: LdapEntry, run_id: int | None) -> None:
        """An entry read but not written (its change was refused): not missing, and
        its stored marker and hash stay, so that the next run tries it again."""
        if run_id is not None:
            row.seen_run = run_id

    def _touch(self, row: LdapEntry, item: Mapped, run_id: int | None) -> None:
        row.dn = item.dn
        row.change_marker = self.stored_marker(item.marker)
        if run_id is not None:
            row.seen_run = run_id

    def _create_all(
        self,
        session: Session,
        source: Source,
        fresh: list[Mapped],
        run_id: int | None,
        counts: Counts,
    ) -> None:
        """New entries in one go; if that fails as a whole (a concurrent writer took a
        name meanwhile, the database refused a value), the same write entry by entry,
        to isolate the entry concerned (an entry error with its DN)."""
        if not fresh:
            return
        _whole_then_each(
            fresh,
            lambda group: self._create_group(session, source, group, run_id),
            counts,
            dn=lambda one: one.dn,
        )

    def _create_group(
        self, session: Session, source: Source, group: list[Mapped], run_id: int | None
    ) -> Counts:
        counts = Counts()
        decisions = [
            users.NewUser(
                m.resource, sync_scope.decide(source, m.resource), m.validated, m.prepared
            )
            for m in group
        ]
        with session.begin_nested():
            results = users.create_many(session, self.actor, source, decisions)
            new_rows = []
            for item, result in zip(group, results, strict=True):
                if isinstance(result, ServiceError):
                    counts.error(f"{item.dn}: {result.message}")
                    continue
                new_rows.append(
                    entry_row(self.source_id, self.fingerprint, item, result.id, run_id)
                )
                counts.created += 1
            if new_rows:  # one Core executemany (the users went in the same way)
                session.flush()
                bulk.insert_rows(session.connection(), LdapEntry.__table__, new_rows)
        return counts

    def _returning(
        self, session: Session, item: Mapped, by_id: dict[str, User]
    ) -> LdapEntry | None:
        """An entry re-created under a new id for a user deactivated as missing: same user."""
        row = session.scalars(
            select(LdapEntry)
            .join(User, User.id == LdapEntry.user_id)
            .where(
                LdapEntry.source_id == self.source_id,
                LdapEntry.gone.is_(True),
                User.user_name_ci == str(item.resource["userName"]).lower(),
            )
        ).first()
        if row is not None:
            row.entry_id = item.key
            user = session.get(User, row.user_id)
            if user is not None:
                by_id[user.id] = user
        return row

    def _rescope(
        self, session: Session, source: Source, user: User, item: Mapped, state: Any
    ) -> None:
        """The source's sync_to_contact (true, false or a filter) decides again, unless an
        admin set this user's switch."""
        if not sync_scope.follows_source(user):
            return
        decision = sync_scope.decide(source, item.resource)
        if decision != user.sync_to_contact:
            why = "decided by the source's sync_to_contact"
            linking.set_sync(session, user, decision, state, self.actor, why=why)

    # -- missing entries (reconciliation) -------------------------------------------

    def _missing(self, run_id: int) -> Any:
        return and_(
            LdapEntry.source_id == self.source_id,
            LdapEntry.gone.is_(False),
            or_(LdapEntry.seen_run.is_(None), LdapEntry.seen_run != run_id),
        )

    def _count_missing(self, session: Session, run_id: int) -> tuple[int, int]:
        """(entries not seen by this run, entries of the source still present)."""
        missing = session.scalar(select(func.count()).where(self._missing(run_id))) or 0
        population = (
            session.scalar(
                select(func.count()).where(
                    LdapEntry.source_id == self.source_id, LdapEntry.gone.is_(False)
                )
            )
            or 0
        )
        return missing, population

    def remove_missing(self, run_id: int, *, confirmed: int = 0, batch: int = 200) -> Removal:
        """Delete (or deactivate) the users whose entries this run did not find, if the
        source's delete guard allows that many (``confirmed``: how many an admin allowed).

        The one way LDAP users are removed: the guard is asked here, next to the
        deletion, so no caller can remove users without it. A refusal removes none.
        """
        missing, population = self.ctx.run(lambda s: self._count_missing(s, run_id))
        if not self.cfg.delete_guard.allows(missing, population, confirmed=confirmed):
            return Removal(Counts(), missing, population, blocked=True)
        total = Counts()
        # Batches sized by time, as a job's: a SCIM write waits for at most one.
        sizes = BatchSizes(batch, self.ctx.settings.jobs.batch_seconds)
        while missing:
            size = sizes.next

            def work(session: Session, size: int = size) -> Counts:
                counts = Counts()
                rows = session.scalars(
                    select(LdapEntry)
                    .where(self._missing(run_id))
                    .order_by(LdapEntry.id)
                    .limit(size)
                ).all()
                for row in rows:
                    if self.cfg.on_missing == "delete":
                        why = f"entry {row.dn} missing at reconciliation (run {run_id})"
                        users.delete(session, self.actor, row.user_id, remember=False, reason=why)
                        counts.deleted += 1
                        continue
                    user = session.get(User, row.user_id)
                    if user is not None and user.active:
                        users.replace(session, self.actor, user, {**user.resource, "active": False})
                    row.gone, row.content_hash, row.change_marker = True, "", ""
                    counts.deactivated += 1
                session.flush()
                return counts

            started = time.monotonic()
            counts = self.ctx.run(work)
            sizes.took(size, time.monotonic() - started)
            total.add(counts)
            if counts.deleted + counts.deactivated < size:
                break
        return Removal(total, missing, population, blocked=False)


def _unpacked(page: MappedPage | PackedPage) -> MappedPage:
    return unpack(page) if isinstance(page, PackedPage) else page


@dataclass(frozen=True)
class Removal:
    """What :meth:`UserSynchroniser.remove_missing` did: the users it removed, how many
    entries were missing of how many, and whether the delete guard refused."""

    counts: Counts
    missing: int
    population: int
    blocked: bool


def _whole_then_each(
    items: list[T],
    write: Callable[[list[T]], Counts],
    counts: Counts,
    *,
    dn: Callable[[T], str],
    failed: Callable[[T], None] | None = None,
) -> None:
    """``write`` the whole group; if that fails (a concurrent writer won a race, the
    database refused a value), write each item alone, so that only the item concerned
    fails: an entry error with its DN. An unavailable database stops the run."""
    try:
        counts.add(write(items))
        return
    except Exception as exc:
        if is_unavailable(exc):
            raise
    for one in items:
        try:
            counts.add(write([one]))
        except Exception as exc:
            if is_unavailable(exc):
                raise
            counts.error(f"{dn(one)}: {reason(exc)}")
            if failed is not None:
                failed(one)
