"""Background work in the serving process, on APScheduler.

Jobs are queued as database rows by the service layer; the scheduler only
decides when and where they run. ``max_instances=1`` keeps one runner per job.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from connector.services import jobs
from connector.services.context import Context

log = logging.getLogger(__name__)


# Seconds before a job that stopped (the database was unavailable) is run again.
RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0)


class JobRunner:
    def __init__(self, ctx: Context, *, enabled: bool = True) -> None:
        self.ctx = ctx
        self.enabled = enabled
        self.retry_delays = RETRY_DELAYS
        self.stopping = threading.Event()
        self.scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )

    def start(self) -> None:
        if not self.enabled:
            return
        self.scheduler.start()
        for job_id in self.ctx.run(jobs.unfinished):
            log.info("resuming job %s", job_id)
            self.submit(job_id)
        self._schedule_ldap()

    def _schedule_ldap(self) -> None:
        """One job per LDAP source and kind (poll, reconcile), from the configuration.

        ``max_instances=1`` and coalescing keep runs of one job from piling up; the
        source lock in connector.ldap.run_service keeps a poll and a reconciliation of the
        same source (and other processes of a cluster) apart.
        """
        for cfg in self.ctx.settings.sources.ldap:
            for kind, schedule in (("poll", cfg.poll), ("full", cfg.reconcile)):
                if schedule.interval_seconds is not None:
                    trigger = IntervalTrigger(seconds=schedule.interval_seconds, timezone="UTC")
                elif schedule.cron is not None:
                    trigger = CronTrigger.from_crontab(schedule.cron, timezone="UTC")
                else:
                    continue
                self.scheduler.add_job(
                    self._ldap_run,
                    trigger,
                    args=[cfg.name, kind == "full", None],
                    id=f"ldap-{cfg.name}-{kind}",
                    replace_existing=True,
                    max_instances=1,
                    coalesce=True,
                )

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

    def _ldap_run(self, name: str, full: bool, run_id: int | None) -> None:
        from connector.errors import ServiceError
        from connector.ldap import run_service as runs

        try:
            if run_id is None:
                run_id = runs.queue(self.ctx, name, f"ldap:{name}", full=full)
            runs.execute(self.ctx, run_id, stop=self.stopping)
        except ServiceError as exc:
            log.info("LDAP source %s: not run now: %s", name, exc.message)
        except Exception:
            log.exception("LDAP source %s: run failed", name)

    def submit(self, job_id: str) -> None:
        """Run a queued job in the background (no-op when the scheduler is off)."""
        if not self.enabled:
            return
        self.scheduler.add_job(self._run, args=[job_id], id=f"job-{job_id}", replace_existing=True)

    def _run(self, job_id: str, attempt: int = 0) -> None:
        """Run a job; if it stops (a bad row does not stop it, an unavailable database
        does), run it again later from its last batch instead of leaving it queued."""
        try:
            job = jobs.run(self.ctx, job_id)
            log.info(
                "job %s finished: %s, %d done, %d changed, %d errors",
                job_id,
                job.state,
                job.done,
                job.changed,
                job.errors,
            )
        except Exception:
            delay = self.retry_delays[min(attempt, len(self.retry_delays) - 1)]
            log.exception("job %s stopped; it resumes from its last batch in %s s", job_id, delay)
            if self.stopping.is_set():
                return
            self.scheduler.add_job(
                self._run,
                "date",
                run_date=datetime.now(UTC) + timedelta(seconds=delay),
                args=[job_id, attempt + 1],
                id=f"job-{job_id}",
                replace_existing=True,
            )

    def shutdown(self) -> None:
        self.stopping.set()  # LDAP runs stop after their current page, deleting nothing
        if self.enabled and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
