"""Background work in the serving process, on APScheduler.

Jobs are queued as database rows by the service layer; the scheduler only
decides when and where they run. ``max_instances=1`` keeps one runner per job.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from connector.services import jobs
from connector.services.context import Context

log = logging.getLogger(__name__)


class JobRunner:
    def __init__(self, ctx: Context, *, enabled: bool = True) -> None:
        self.ctx = ctx
        self.enabled = enabled
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

    def submit(self, job_id: str) -> None:
        """Run a queued job in the background (no-op when the scheduler is off)."""
        if not self.enabled:
            return
        self.scheduler.add_job(self._run, args=[job_id], id=f"job-{job_id}", replace_existing=True)

    def _run(self, job_id: str) -> None:
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
            log.exception("job %s stopped; it resumes from its last batch on restart", job_id)

    def shutdown(self) -> None:
        if self.enabled and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
