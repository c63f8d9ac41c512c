"""`connector worker`: runs queued jobs and LDAP schedules, without HTTP.

Any number of workers (and `connector serve` processes) share one database: jobs
are claimed from the jobs table with a lease (connector/services/jobs.py), each
schedule firing runs once (connector/scheduler.py). A worker does not migrate
unless told to (``--migrate`` or ``database.migrate``); against an older schema it
logs so once and waits, claiming nothing, until `connector db upgrade` has run.

SIGTERM or SIGINT stops it cleanly: the job it runs stops after its current batch
and goes back to the queue, a running LDAP run stops after its current page.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from connector import metrics, startup, startup_heap
from connector.config import Settings
from connector.scheduler import JobRunner
from connector.services.context import Context

log = logging.getLogger(__name__)


def run_worker(
    settings: Settings,
    *,
    migrate: bool,
    stop: threading.Event | None = None,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
) -> int:
    """Work until SIGTERM / SIGINT (or ``stop`` is set); 0 after a clean stop.

    ``metrics_port`` serves this worker's own Prometheus metrics (its LDAP runs) at
    ``http://metrics_host:metrics_port/metrics``."""
    stop = stop or threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("worker: %s received; stopping after the current batch", signal.strsignal(signum))
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    ctx = Context.from_settings(settings, serving=True)
    if migrate or startup.migrates(settings, default=False):
        ctx.db.upgrade()
    if metrics_port is not None:
        metrics.serve_process_metrics(metrics_port, metrics_host)
        log.info("worker: metrics on http://%s:%d/metrics", metrics_host, metrics_port)
    runner = JobRunner(ctx, enabled=True)
    startup_heap.freeze()
    runner.start()
    log.info(
        "worker %s: running queued jobs and %d LDAP source schedule(s)",
        runner.worker,
        len(settings.sources.ldap),
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        runner.shutdown()
        ctx.db.dispose()
    log.info("worker %s: stopped", runner.worker)
    return 0
