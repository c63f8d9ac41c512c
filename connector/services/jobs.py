"""Batched, resumable jobs: "Update all synchronized users" and "Synchronize all users".

Each batch is one transaction that also advances the job's cursor, so a job
cut short by a crash resumes after the last committed batch. Contacts whose
values do not change are not rewritten; only their mapping version moves.

One bad row never stalls a job: a batch whose transaction fails is run again
row by row, and the row that still fails is counted in ``errors`` with its
reason and passed over (unless the database itself is unavailable: then the
job stops and resumes from its last batch).

Counters: ``done`` counts the rows the job has visited (``changed`` and
``errors`` are among them). ``total`` is counted when the job starts; rows that
appear meanwhile (a link created or resumed by a concurrent write) are visited
too, and when ``done`` would pass ``total`` the rows still ahead are counted
again. A finished job has ``total == done``. So ``done <= total`` always.

The jobs table is the queue (any number of workers on one database): a worker
:func:`claim` takes a queued job (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the
write lock every transaction takes) for a lease it renews (:func:`renew`, and every
batch). A job whose lease ran out (its worker died) is claimed by another worker
and goes on after the last committed batch. Every batch first locks the job's row
and checks that this worker still holds it (:class:`LeaseLost` otherwise), so a job
is written by one worker at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from connector import logs
from connector.db.models import Contact, ContactLink, Job, User, utcnow
from connector.errors import NotFound
from connector.mapping import sort_columns
from connector.services import audit, linking, resync, resync_selection
from connector.services import users as user_service
from connector.services.batch_sizes import BatchSizes
from connector.services.context import Context
from connector.services.failures import is_unavailable, printable, reason

RESYNC = "resync_contacts"
SYNC_ALL = "sync_users"
UNFINISHED = ("queued", "running")
MAX_ERROR_MESSAGES = 50

Progress = Callable[[Job], None]
Step = Callable[[Session, Job, int], Job]


def representation(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "total": job.total,
        "done": job.done,
        "changed": job.changed,
        "errors": job.errors,
        "errorMessages": job.error_messages.get("messages", []),
        "mappingVersion": job.mapping_version,
        "createdAt": job.created_at.isoformat(),
        "finishedAt": job.finished_at.isoformat() if job.finished_at else None,
    }


def get(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id!r}")
    return job


def start(session: Session, actor: str, kind: str) -> Job:
    """Queue a job, or return the unfinished one of the same kind (never two at once)."""
    running = session.scalars(
        select(Job).where(Job.kind == kind, Job.state.in_(UNFINISHED)).limit(1)
    ).first()
    if running is not None:
        return running
    state = user_service.load_state(session)
    if kind == RESYNC:
        total = session.scalar(
            select(func.count())
            .select_from(ContactLink)
            .join(User, User.id == ContactLink.user_id)
            .where(*resync_selection.conditions(state.settings.direction, state.local_sources))
        )
    else:
        total = user_service.count(session, [User.sync_to_contact.is_(True)])
    job = Job(
        kind=kind,
        actor=actor,
        state="queued",
        total=total or 0,
        mapping_version=state.mapping.version,
        error_messages={"messages": []},
    )
    session.add(job)
    session.flush()
    audit.record(
        session,
        actor,
        f"job.{kind}",
        "job",
        job.id,
        None,
        {"total": job.total, "mappingVersion": job.mapping_version},
        diff=False,
    )
    return job


def unfinished(session: Session) -> list[str]:
    return list(session.scalars(select(Job.id).where(Job.state.in_(UNFINISHED))))


@dataclass(frozen=True)
class Lease:
    """Who holds a job (a worker's name) and for how long a claim or renewal lasts."""

    worker: str
    seconds: float

    def until(self) -> datetime:
        return utcnow() + timedelta(seconds=self.seconds)


class LeaseLost(Exception):
    """Another worker took the job over (this one's lease ran out): stop writing."""


def claim(session: Session, lease: Lease, job_id: str | None = None) -> str | None:
    """Take the oldest unfinished job nobody holds (or ``job_id`` only); its id, or None.

    Nobody holds a job whose lease is unset or has run out. On PostgreSQL the row is
    locked with SKIP LOCKED (workers polling together take different jobs, and a job
    whose batch is being written is passed over); the UPDATE repeats the condition,
    so a claim is also safe where FOR UPDATE does not exist (SQLite, whose
    transactions take the write lock first). The claim is audited (``job.claim``)."""
    now = utcnow()
    free = or_(Job.lease_until.is_(None), Job.lease_until < now)
    query = select(Job).where(Job.state.in_(UNFINISHED), free)
    if job_id is not None:
        query = query.where(Job.id == job_id)
    job = session.scalars(
        query.order_by(Job.created_at, Job.id).limit(1).with_for_update(skip_locked=True)
    ).first()
    if job is None:
        return None
    before = {"claimedBy": job.claimed_by, "done": job.done}
    taken = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.state.in_(UNFINISHED), free)
        .values(claimed_by=lease.worker, lease_until=lease.until(), claims=Job.claims + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    audit.record(
        session,
        lease.worker,
        "job.claim",
        "job",
        job.id,
        before,
        {"claimedBy": lease.worker, "done": job.done},
        diff=False,
    )
    return job.id


def renew(session: Session, job_id: str, lease: Lease) -> bool:
    """Extend the lease while this worker still holds the job; False when it does not."""
    renewed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.claimed_by == lease.worker, Job.state.in_(UNFINISHED))
        .values(lease_until=lease.until())
        .execution_options(synchronize_session=False)
    )
    return renewed.rowcount == 1  # type: ignore[attr-defined]


def release(session: Session, job_id: str, lease: Lease, *, after: float = 0.0) -> None:
    """Give the job back to the queue (a worker stopping, or retrying later): any
    worker may claim it once ``after`` seconds have passed."""
    free_at = utcnow() + timedelta(seconds=after) if after else None
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.claimed_by == lease.worker)
        .values(claimed_by=None, lease_until=free_at)
        .execution_options(synchronize_session=False)
    )


def _held(session: Session, job_id: str, lease: Lease | None) -> Job:
    """The job, its row locked for this batch, still held by ``lease``'s worker (renewed).

    The row lock orders this batch against a claimer: either the claim comes first
    (then this batch sees another worker and raises :class:`LeaseLost`, writing
    nothing) or the batch does (then its renewal keeps the claimer off)."""
    if lease is None:
        return get(session, job_id)
    job = session.scalars(select(Job).where(Job.id == job_id).with_for_update()).first()
    if job is None:
        raise NotFound(f"no job with id {job_id!r}")
    if job.claimed_by != lease.worker:
        raise LeaseLost(f"job {job_id} is held by {job.claimed_by or 'nobody'} now")
    job.lease_until = lease.until()
    return job


@logs.tagged("job_id", "job_id")
def run(
    ctx: Context,
    job_id: str,
    progress: Progress | None = None,
    *,
    lease: Lease | None = None,
    stop: threading.Event | None = None,
) -> Job:
    """Run (or resume) a job to the end, one committed batch at a time.

    With a ``lease`` (a worker that claimed the job) every batch checks and renews
    it; with ``stop`` set the job stops after its current batch (still unfinished,
    for the caller to release)."""
    sizes = BatchSizes(ctx.settings.jobs.batch_size, ctx.settings.jobs.batch_seconds)
    step = _resync_batch if ctx.run(lambda s: get(s, job_id).kind) == RESYNC else _sync_batch
    while True:
        batch = sizes.next
        started = time.monotonic()
        try:
            job = ctx.run(lambda s, rows=batch: step(s, _held(s, job_id, lease), rows))  # type: ignore[misc]
        except LeaseLost:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                raise
            job = _row_by_row(ctx, job_id, step, batch, lease)
        sizes.took(batch, time.monotonic() - started)
        if progress is not None:
            progress(job)
        if job.state not in UNFINISHED or (stop is not None and stop.is_set()):
            return job


def _row_by_row(ctx: Context, job_id: str, step: Step, rows: int, lease: Lease | None) -> Job:
    """The next ``rows`` rows, each in its own transaction; a row that fails alone is
    counted as an error with its reason and passed over."""
    for _ in range(rows):
        try:
            job = ctx.run(lambda s: step(s, _held(s, job_id, lease), 1))
        except LeaseLost:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                raise
            job = ctx.run(partial(_pass_over, job_id=job_id, failure=exc, lease=lease))
        if job.state not in UNFINISHED:
            break
    return job


def _pass_over(
    session: Session, *, job_id: str, failure: Exception, lease: Lease | None = None
) -> Job:
    """Count the job's next row as an error (``failure`` is why) and move past it."""
    job = _held(session, job_id, lease)
    if job.kind == RESYNC:
        link = session.execute(
            select(ContactLink.id, User.id, User.user_name)
            .join(User, User.id == ContactLink.user_id)
            .where(ContactLink.id > job.cursor, *_resync_conditions(session))
            .order_by(ContactLink.id)
            .limit(1)
        ).first()
        if link is None:  # the failure was not a row's: nothing to pass over
            raise failure
        job.cursor, user_id, user_name = link
    else:
        user = session.execute(
            select(User.id, User.user_name)
            .where(User.sync_to_contact.is_(True), User.id > job.cursor_key)
            .order_by(User.id)
            .limit(1)
        ).first()
        if user is None:
            raise failure
        user_id, user_name = user
        job.cursor_key = user_id
    job.state = "running"
    _note_error(job, f"user {user_name} ({user_id}): {reason(failure)}")
    _visited(session, job, 1, 0)
    return job


def _note_error(job: Job, message: str) -> None:
    job.errors += 1
    messages = job.error_messages.get("messages", [])
    if len(messages) < MAX_ERROR_MESSAGES:
        job.error_messages = {"messages": [*messages, printable(message)]}


def _visited(session: Session, job: Job, rows: int, changed: int) -> None:
    """Count ``rows`` visited rows; if that passes ``total``, count again what lies ahead."""
    job.done += rows
    job.changed += changed
    job.updated_at = utcnow()
    if job.done > job.total:
        job.total = job.done + _rows_ahead(session, job)


def _rows_ahead(session: Session, job: Job) -> int:
    if job.kind == RESYNC:
        ahead = (
            select(func.count())
            .select_from(ContactLink)
            .join(User, User.id == ContactLink.user_id)
            .where(ContactLink.id > job.cursor, *_resync_conditions(session))
        )
    else:
        ahead = select(func.count()).where(User.sync_to_contact.is_(True), User.id > job.cursor_key)
    return session.scalar(ahead) or 0


def _resync_conditions(session: Session) -> tuple[Any, ...]:
    state = user_service.load_state(session)
    return resync_selection.conditions(state.settings.direction, state.local_sources)


def _finish_if_empty(job: Job, count: int) -> bool:
    if count:
        return False
    job.state = "done" if not job.errors else "done_with_errors"
    job.total = job.done  # rows deleted meanwhile were not visited
    job.finished_at = utcnow()
    job.updated_at = job.finished_at
    return True


def _resync_batch(session: Session, job: Job, batch: int) -> Job:
    """Re-apply the current mapping to the next ``batch`` linked contacts.

    Each contact gets :func:`resync.outcome` (what :func:`contact_rules.decide` says,
    as ``sync_user`` would do; the mapping preview asks the same); updates are
    written with one statement for the batch."""
    state = user_service.load_state(session)
    job.state = "running"
    page = resync.page(session, job.cursor, batch, state)
    if page.last_link_id is None:
        _finish_if_empty(job, 0)
        return job
    rows = page.rows
    version = state.mapping.version
    now = utcnow()
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    remapped: list[int] = []
    deleted = 0
    for row in rows:
        result = resync.outcome(row, state)
        if result.kind is resync.Kind.DELETE:
            link = session.get_one(ContactLink, row.link_id)
            why = linking.deactivation_reason(row.user_name)
            linking.delete_linked_contact(session, link, job.actor, why)
            deleted += 1
            continue
        if result.kind is resync.Kind.ERROR:
            _note_error(job, result.error or "")
            continue
        if result.kind is resync.Kind.LEAVE:
            continue
        remapped.append(row.link_id)
        if result.kind is resync.Kind.SAME:
            continue
        fields, active = result.fields or {}, result.active
        updates.append(
            {
                "b_id": row.contact_id,
                "b_version": row.contact_version,
                "new_version": row.contact_version + 1,
                "fields": fields,
                **sort_columns(fields),
                "active": active,
                "updated_at": now,
            }
        )
        events.append(
            audit.event(
                job.actor,
                "contact.update",
                "contact",
                row.contact_id,
                {"fields": row.fields, "active": row.active},
                {"fields": fields, "active": active},
                message=f"mapping version {version} applied (job {job.id})",
            )
        )
    if updates:
        table = cast(Table, Contact.__table__)
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
            .values(
                fields=bindparam("fields"),
                search_text=bindparam("search_text"),
                sort_email=bindparam("sort_email"),
                active=bindparam("active"),
                updated_at=bindparam("updated_at"),
                version=bindparam("new_version"),
            ),
            updates,
        )
        audit.record_many(session, events)
    if remapped:
        session.execute(
            update(ContactLink).where(ContactLink.id.in_(remapped)).values(mapping_version=version)
        )
    job.cursor = page.last_link_id
    _visited(session, job, len(rows), len(updates) + deleted)
    return job


def _sync_batch(session: Session, job: Job, batch: int) -> Job:
    """ "Synchronize users" for all: create missing contacts, re-apply the mapping."""
    state = user_service.load_state(session)
    job.state = "running"
    users = session.scalars(
        select(User)
        .where(User.sync_to_contact.is_(True), User.id > job.cursor_key)
        .order_by(User.id)
        .limit(batch)
    ).all()
    if _finish_if_empty(job, len(users)):
        return job
    for user in users:
        linking.sync_user(session, user, state, job.actor)
    job.cursor_key = users[-1].id
    _visited(session, job, len(users), 0)
    return job
