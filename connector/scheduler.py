"""Background work of a process that runs jobs (`connector serve`, `connector worker`),
on APScheduler.

Jobs are rows in the database (connector/services/jobs.py is the queue): every
runner polls for a queued job every ``jobs.poll_seconds``, claims it with a lease,
renews the lease on a timer and every batch, and gives it back when it stops. A
web-only process has an idle runner: what it queues waits in the database for a
worker. ``submit`` is only a hint to look now.

LDAP schedules fire on every runner at the same instants (intervals are counted
from a fixed epoch, cron is cron): the first runner to queue the run of that
instant (its *slot*) runs it, the others find it and skip (connector/ldap/run_service.py
``queue``, under the source's row lock), and the source's lock keeps runs apart.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from connector.db.models import Job
from connector.readiness import Readiness
from connector.services import deletion, jobs
from connector.services.context import Context

log = logging.getLogger(__name__)


# Seconds before a job that stopped (the database was unavailable) may be claimed again.
RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0)
# How often a runner removes deletions whose grace period ended.
PURGE_SECONDS = 600
# Interval schedules count from here, so every process fires at the same instants.
SCHEDULE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def worker_name() -> str:
    """This process among the workers: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class LeaseKeeper:
    """Renews a claimed job's lease every third of its length while the job runs, so a
    long batch does not lose it; a worker that dies stops renewing."""

    def __init__(self, ctx: Context, job_id: str, lease: jobs.Lease) -> None:
        self.ctx, self.job_id, self.lease = ctx, job_id, lease
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"lease-{job_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(timeout=self.lease.seconds)

    def _loop(self) -> None:
        while not self.done.wait(self.lease.seconds / 3):
            try:
                if not self.ctx.run(lambda s: jobs.renew(s, self.job_id, self.lease)):
                    return  # taken over: the next batch sees it and stops
            except Exception:
                log.warning("job %s: could not renew its lease", self.job_id, exc_info=True)


def run_claimed(
    ctx: Context,
    job_id: str,
    lease: jobs.Lease,
    *,
    progress: jobs.Progress | None = None,
    stop: threading.Event | None = None,
) -> Job:
    """Run a job this process claimed; if it stops unfinished (``stop``), give it back."""
    with LeaseKeeper(ctx, job_id, lease):
        job = jobs.run(ctx, job_id, progress, lease=lease, stop=stop)
    if job.state in jobs.UNFINISHED:
        ctx.run(lambda s: jobs.release(s, job_id, lease))
        log.info("job %s: stopped after %d rows; back in the queue", job_id, job.done)
    return job


class JobRunner:
    def __init__(
        self, ctx: Context, *, enabled: bool = True, readiness: Readiness | None = None
    ) -> None:
        self.ctx = ctx
        self.enabled = enabled
        self.readiness = readiness or Readiness(ctx)
        self.worker = worker_name()
        self.lease = jobs.Lease(self.worker, ctx.settings.jobs.lease_seconds)
        self.retry_delays = RETRY_DELAYS
        self.attempts: dict[str, int] = {}
        self.stopping = threading.Event()
        self.wakeup = threading.Event()
        self.poller: threading.Thread | None = None
        self.scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )

    def start(self) -> None:
        if not self.enabled:
            return
        self.scheduler.start()
        self.poller = threading.Thread(target=self._poll, name="job-queue", daemon=True)
        self.poller.start()
        self._schedule_ldap()
        self.scheduler.add_job(
            self.purge_deleted,
            IntervalTrigger(seconds=PURGE_SECONDS, start_date=SCHEDULE_EPOCH, timezone="UTC"),
            id="purge-deleted",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )

    # ------------------------------------------------------------------ soft deletion

    def purge_deleted(self) -> int:
        """Remove tombstones whose grace period ended, a batch per transaction; safe on
        every runner at once (a tombstone is deleted once, the others find none)."""
        if not self.readiness.check().ok:
            return 0
        purged = 0
        try:
            while True:
                gone = self.ctx.run(lambda s: deletion.purge(s))
                purged += gone
                if gone == 0 or self.stopping.is_set():
                    break
        except Exception:
            log.exception("purging expired deletions failed; the next round tries again")
        return purged

    # ------------------------------------------------------------------ jobs

    def submit(self, job_id: str) -> None:
        """A job was queued: look for it now rather than at the next poll. Without a
        running runner (web-only) the job waits in the database for a worker."""
        if self.enabled:
            self.wakeup.set()

    def _poll(self) -> None:
        """Look for queued jobs every ``jobs.poll_seconds``, or at once when woken."""
        while not self.stopping.is_set():
            try:
                self.work_queue()
            except Exception:  # the poller must outlive any one failure
                log.exception("the job queue poller failed; it goes on")
            self.wakeup.wait(self.ctx.settings.jobs.poll_seconds)
            self.wakeup.clear()

    def work_queue(self) -> None:
        """Claim and run queued jobs until none is left; nothing while not ready."""
        while not self.stopping.is_set():
            if not self.readiness.check().ok:
                return
            try:
                job_id = self.ctx.run(lambda s: jobs.claim(s, self.lease))
            except Exception:
                log.warning("could not look for queued jobs", exc_info=True)
                return
            if job_id is None:
                return
            self._run(job_id)

    def _run(self, job_id: str) -> None:
        """Run a claimed job; if it stops (a bad row does not stop it, an unavailable
        database does), give it back to the queue for a later try from its last batch."""
        log.info("job %s: claimed by %s", job_id, self.worker)
        try:
            job = run_claimed(self.ctx, job_id, self.lease, stop=self.stopping)
        except jobs.LeaseLost as exc:
            log.warning("job %s: %s; this worker stopped writing it", job_id, exc)
            return
        except Exception:
            attempt = self.attempts.get(job_id, 0)
            self.attempts[job_id] = attempt + 1
            delay = self.retry_delays[min(attempt, len(self.retry_delays) - 1)]
            log.exception("job %s stopped; it resumes from its last batch in %s s", job_id, delay)
            try:
                self.ctx.run(lambda s: jobs.release(s, job_id, self.lease, after=delay))
            except Exception:  # the lease runs out by itself
                log.warning("job %s: could not give it back", job_id, exc_info=True)
            return
        if job.state not in jobs.UNFINISHED:
            self.attempts.pop(job_id, None)
            log.info(
                "job %s finished: %s, %d done, %d changed, %d errors",
                job_id,
                job.state,
                job.done,
                job.changed,
                job.errors,
            )

    # ------------------------------------------------------------------ LDAP

    def _schedule_ldap(self) -> None:
        """One job per LDAP source and kind (poll, reconcile), from the configuration.

        ``max_instances=1`` and coalescing keep runs of one job from piling up; the
        slot of each firing and the source lock (connector.ldap.run_service) keep the
        runners of a cluster to one run per firing and one run per source at a time.
        """
        for cfg in self.ctx.settings.sources.ldap:
            for kind, schedule in (("poll", cfg.poll), ("full", cfg.reconcile)):
                trigger: BaseTrigger
                if schedule.interval_seconds is not None:
                    trigger = IntervalTrigger(
                        seconds=schedule.interval_seconds, start_date=SCHEDULE_EPOCH, timezone="UTC"
                    )
                elif schedule.cron is not None:
                    trigger = CronTrigger.from_crontab(schedule.cron, timezone="UTC")
                else:
                    continue
                self.scheduler.add_job(
                    self._scheduled_ldap_run,
                    trigger,
                    args=[cfg.name, kind == "full", trigger],
                    id=f"ldap-{cfg.name}-{kind}",
                    replace_existing=True,
                    max_instances=1,
                    coalesce=True,
                )

    def _scheduled_ldap_run(self, name: str, full: bool, trigger: BaseTrigger) -> None:
        if self.readiness.check().ok:
            self._ldap_run(name, full, None, slot=slot_of(trigger, datetime.now(UTC)))

    def submit_ldap(self, name: str, *, full: bool = False, run_id: int | None = None) -> bool:
        """Run an LDAP source now in the background; False when the scheduler is off."""
        if not self.enabled:
            return False
        self.scheduler.add_job(
            self._ldap_run,
            args=[name, full, run_id],
            id=f"ldap-{name}-now-{run_id}",
            replace_existing=True,
        )
        return True

    def _ldap_run(
        self, name: str, full: bool, run_id: int | None, slot: datetime | None = None
    ) -> None:
        from connector.errors import ServiceError
        from connector.ldap import run_service as runs

        try:
            if run_id is None:
                run_id = runs.queue(self.ctx, name, f"ldap:{name}", full=full, slot=slot)
            runs.execute(self.ctx, run_id, stop=self.stopping)
        except ServiceError as exc:
            log.info("LDAP source %s: not run now: %s", name, exc.message)
        except Exception:
            log.exception("LDAP source %s: run failed", name)

    def shutdown(self) -> None:
        """Stop: running jobs stop after their current batch and go back to the queue;
        LDAP runs stop after their current page, deleting nothing."""
        self.stopping.set()
        self.wakeup.set()
        if self.poller is not None:
            self.poller.join()
        if self.enabled and self.scheduler.running:
            self.scheduler.shutdown(wait=True)


def slot_of(trigger: BaseTrigger, now: datetime) -> datetime:
    """The instant a schedule fired for (the latest firing at or before ``now``): the
    same on every runner, whenever each one's clock tick reached it."""
    if isinstance(trigger, IntervalTrigger):
        start: datetime = trigger.start_date
        length = trigger.interval_length
        fired = math.floor((now - start).total_seconds() / length)
        return start + timedelta(seconds=length * fired)
    # Cron has a one-minute grain: the firing this run belongs to is within the last minute.
    fired = trigger.get_next_fire_time(None, now - timedelta(seconds=59))
    return fired if fired is not None and fired <= now else now
