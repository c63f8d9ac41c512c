"""What the database holds, counted for the metrics endpoint at scrape time.

A few grouped counts (users and contacts by source, jobs by kind and state) and
each LDAP source's newest runs (two index lookups per source). Read from the
database, so every web replica reports the same numbers for work that any
worker did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.db.models import Contact, ContactLink, Job, Source, SyncRun, User


@dataclass(frozen=True)
class LastRun:
    source: str
    state: str
    finished_at: datetime | None


@dataclass
class Stats:
    users: dict[str, int] = field(default_factory=dict)  # source name → users
    contacts: dict[str, int] = field(default_factory=dict)  # source name → linked contacts
    unlinked_contacts: int = 0  # manual contacts and those whose link is paused or gone
    jobs: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # → count, done
    last_runs: list[LastRun] = field(default_factory=list)  # newest run of each LDAP source
    last_ok: dict[str, datetime] = field(default_factory=dict)  # source → newest ok run's end


def collect(session: Session) -> Stats:
    stats = Stats()
    names = dict(session.execute(select(Source.id, Source.name)).all())
    for source_id, count in session.execute(
        select(User.source_id, func.count()).group_by(User.source_id)
    ):
        stats.users[names.get(source_id, str(source_id))] = count
    for name in names.values():
        stats.users.setdefault(name, 0)
        stats.contacts.setdefault(name, 0)
    linked = 0
    for source_id, count in session.execute(
        select(User.source_id, func.count())
        .join(ContactLink, ContactLink.user_id == User.id)
        .where(ContactLink.state == "active")
        .group_by(User.source_id)
    ):
        stats.contacts[names.get(source_id, str(source_id))] = count
        linked += count
    stats.unlinked_contacts = (
        session.scalar(select(func.count()).select_from(Contact)) or 0
    ) - linked
    for kind, state, count, done in session.execute(
        select(Job.kind, Job.state, func.count(), func.coalesce(func.sum(Job.done), 0)).group_by(
            Job.kind, Job.state
        )
    ):
        stats.jobs[(kind, state)] = (count, int(done))
    for source_id, name in session.execute(
        select(Source.id, Source.name).where(Source.kind == "ldap")
    ):
        newest = session.scalars(
            select(SyncRun)
            .where(SyncRun.source_id == source_id)
            .order_by(SyncRun.id.desc())
            .limit(1)
        ).first()
        if newest is not None:
            stats.last_runs.append(LastRun(name, newest.state, newest.finished_at))
        ok_end = session.scalar(
            select(SyncRun.finished_at)
            .where(SyncRun.source_id == source_id, SyncRun.state == "ok")
            .order_by(SyncRun.id.desc())
            .limit(1)
        )
        if ok_end is not None:
            stats.last_ok[name] = ok_end
    return stats
