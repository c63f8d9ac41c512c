"""Every Prometheus metric the connector exports, defined once, and its exposition.

Two kinds of numbers:

* what a process did, counted as it happens: HTTP requests of the SCIM endpoint
  and the admin API (recorded by ``connector/web/observability.py``) and LDAP
  runs (recorded by ``connector/ldap/run_records.py`` when a run closes);
* what the database holds, counted at scrape time by :class:`DatabaseCollector`
  (users and contacts by source, jobs by kind and state with their items done,
  each LDAP source's newest run): the same on every replica, whichever worker
  did the work.

Multi-process servers: when ``PROMETHEUS_MULTIPROC_DIR`` is set (before the
process starts, to an empty directory shared by the server's processes, as
``deploy/gunicorn.conf.py`` documents), prometheus-client keeps each process's
counters in files there and :func:`exposition` adds them up, so any gunicorn
worker answers for all. No process-local gauges are defined, so nothing needs
cleaning up when a worker exits.

Nothing here knows Flask or SQL: the web layer calls the record functions and
:func:`exposition`; ``read_stats`` is handed in by the caller.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    start_http_server,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from connector.services.stats import Stats

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
_UP_HELP = "1 when the database answered the scrape's counting queries, else 0."

HTTP_REQUESTS = Counter(
    "connector_http_requests",
    "HTTP requests of the SCIM endpoint and the admin API, by route (the URL rule), "
    "method and status.",
    ["api", "route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "connector_http_request_duration_seconds",
    "Time to answer an HTTP request of the SCIM endpoint or the admin API.",
    ["api", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
LDAP_RUNS = Counter(
    "connector_ldap_runs",
    "LDAP runs that ended, by source, kind (poll, full) and outcome (ok, error, blocked, skipped).",
    ["source", "kind", "outcome"],
)
LDAP_RUN_DURATION = Histogram(
    "connector_ldap_run_duration_seconds",
    "Duration of LDAP runs, from start to close.",
    ["source", "kind"],
    buckets=(0.5, 1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 7200),
)
LDAP_ENTRIES = Counter(
    "connector_ldap_entries",
    "Directory entries of ended LDAP runs: read, changed (created, updated or "
    "deactivated users), deleted, and blocked (deletions the delete guard held back).",
    ["source", "result"],
)


def http_request(api: str, route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(api, route, method, str(status)).inc()
    HTTP_DURATION.labels(api, route, method).observe(seconds)


def ldap_run_ended(
    source: str,
    kind: str,
    outcome: str,
    seconds: float,
    *,
    read: int,
    changed: int,
    deleted: int,
    blocked: int,
) -> None:
    LDAP_RUNS.labels(source, kind, outcome).inc()
    LDAP_RUN_DURATION.labels(source, kind).observe(max(seconds, 0.0))
    for result, count in (
        ("read", read),
        ("changed", changed),
        ("deleted", deleted),
        ("blocked", blocked),
    ):
        LDAP_ENTRIES.labels(source, result).inc(count)


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time (see connector.services.stats)."""

    def __init__(self, read_stats: Callable[[], Stats]) -> None:
        self.read_stats = read_stats

    def collect(self) -> Iterator[Metric]:
        try:
            stats = self.read_stats()
        except Exception:
            log.warning("metrics: the database does not answer", exc_info=True)
            yield GaugeMetricFamily("connector_database_up", _UP_HELP, value=0)
            return
        yield GaugeMetricFamily("connector_database_up", _UP_HELP, value=1)
        users = GaugeMetricFamily("connector_users", "Users by source.", labels=["source"])
        for source, count in sorted(stats.users.items()):
            users.add_metric([source], count)
        contacts = GaugeMetricFamily(
            "connector_contacts",
            "Synchronised contacts (active link) by the source of their user.",
            labels=["source"],
        )
        for source, count in sorted(stats.contacts.items()):
            contacts.add_metric([source], count)
        unlinked = GaugeMetricFamily(
            "connector_contacts_unlinked",
            "Contacts no user manages (manual ones, paused or broken links).",
            value=stats.unlinked_contacts,
        )
        jobs = GaugeMetricFamily(
            "connector_jobs", "Jobs by kind and state.", labels=["kind", "state"]
        )
        done = GaugeMetricFamily(
            "connector_job_items_done",
            "Items (contacts or users) the jobs of each kind and state have done.",
            labels=["kind", "state"],
        )
        for (kind, state), (count, items) in sorted(stats.jobs.items()):
            jobs.add_metric([kind, state], count)
            done.add_metric([kind, state], items)
        last = GaugeMetricFamily(
            "connector_ldap_last_run_end_timestamp_seconds",
            "When each LDAP source's newest run ended (0 while it runs), by its state.",
            labels=["source", "state"],
        )
        for run in stats.last_runs:
            ended = run.finished_at.timestamp() if run.finished_at else 0.0
            last.add_metric([run.source, run.state], ended)
        last_ok = GaugeMetricFamily(
            "connector_ldap_last_success_timestamp_seconds",
            "When each LDAP source's newest successful run ended.",
            labels=["source"],
        )
        for source, ended_at in sorted(stats.last_ok.items()):
            last_ok.add_metric([source], ended_at.timestamp())
        yield from (users, contacts, unlinked, jobs, done, last, last_ok)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(read_stats: Callable[[], Stats]) -> bytes:
    """The Prometheus text of this process (or, in multi-process mode, of all the
    server's processes) and of the database."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        prometheus_multiprocess.MultiProcessCollector(registry)
        process_text = generate_latest(registry)
    else:
        process_text = generate_latest(REGISTRY)
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(read_stats))
    return process_text + generate_latest(database)


def serve_process_metrics(port: int, host: str = "127.0.0.1") -> None:
    """This process's own metrics on their own port, in a daemon thread.

    Why: a worker has no HTTP of its own, yet its LDAP runs (counts, durations)
    happen in it; the database gauges stay on the web replicas' ``/metrics``.
    """
    start_http_server(port, addr=host)
