"""Whether a process may serve requests and claim work: the one check `/readyz`, the
job runner and `connector worker` ask.

Ready means the database answers and its schema is at the head of this code's
migrations (``Database.schema_status``). A web replica or worker does not migrate
unless told to (``database.migrate``); against an older schema it says so in the
log, once, and stays not ready (`/readyz` 503, no job claimed) until `connector db
upgrade` has run. The first time the process is ready it writes the rows every
request assumes (the ``local`` source, the first mapping) and registers the
configured LDAP sources, as the embedded start-up always did.
"""

from __future__ import annotations

import logging
import threading
from typing import NamedTuple

from connector.ldap.run_service import register_sources as register_ldap_sources
from connector.services.bootstrap import ensure_defaults
from connector.services.context import Context

log = logging.getLogger(__name__)

UNREACHABLE = "the database does not answer"


class Ready(NamedTuple):
    ok: bool
    message: str


class Readiness:
    """One per process: tells each new reason for not being ready once (in the log),
    and prepares the default rows once."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.prepared = False
        self._told: str | None = None
        self._lock = threading.Lock()

    def check(self, *, strict: bool = False) -> Ready:
        """Ready or not, and why. ``strict`` (at start-up): a failure to write the
        default rows (a configured LDAP source whose name another kind of source
        took) is raised instead of reported."""
        try:
            status = self.ctx.db.schema_status()
        except Exception:
            self._tell(UNREACHABLE)
            return Ready(False, UNREACHABLE)
        if status.behind:
            self._tell(status.message)
            return Ready(False, status.message)
        with self._lock:
            if not self.prepared:
                try:
                    self.ctx.run(lambda s: ensure_defaults(s, self.ctx.catalogue))
                    register_ldap_sources(self.ctx)
                except Exception as exc:
                    if strict:
                        raise
                    message = f"could not write the default rows: {exc}"
                    self._tell_locked(message)
                    return Ready(False, message)
                self.prepared = True
            if self._told is not None:
                log.info("ready: the database answers and its schema is at %s", status.head)
                self._told = None  # the next trouble is told again
        return Ready(True, "ready")

    def _tell(self, message: str) -> None:
        with self._lock:
            self._tell_locked(message)

    def _tell_locked(self, message: str) -> None:
        if self._told != message:
            self._told = message
            log.error("%s", message)
