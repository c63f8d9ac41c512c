"""A full run's directory reading, in a process of its own.

Why: a full run is CPU-bound on both sides: reading (and, on a first import,
mapping) entries on one, comparing or writing them on the other; Python runs
one thread at a time. A reader thread made it slower (each database round trip
then waits for the reader to hand the interpreter back). A child process uses
the machine's second core: it reads page N+1 while this process handles page N.

The child does only what needs no database: connect (with the password handed
over the pipe, never on a command line), read pages, make users of them or
take their ids and change markers (:mod:`connector.ldap.mapped_pages`), and on
a first import plan their rows (:mod:`.import_plan`). It sends each
page as it is done, and waits while two pages are sent and not yet taken, so it
is never far ahead (memory stays flat, and a run cut short has read little past
the cut). Its failures come back as the same exceptions a reader in this
process would raise, where its page would have come, so a run cut short stops
before deciding anything about missing entries. The children come from a fork
server started once, so they start quickly and never inherit this process's
threads or locks.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from connector.ldap.client import LdapClient, LdapUnavailable, SearchAborted
from connector.ldap.fast_import.import_plan import ImportPlan, PlanBasis
from connector.ldap.fast_import.transfer import PackedPage
from connector.ldap.settings import LdapSettingError, LdapSourceConfig

log = logging.getLogger(__name__)

JOIN_SECONDS = 5.0
# Pages the reader may have sent that this process has not taken yet: enough to
# keep both busy, few enough that a run cut short has read little past its cut.
LEAD = 2
TAKEN = "taken"
WAIT_SECONDS = 1.0
_FAILURES: dict[str, type[Exception]] = {
    "unavailable": LdapUnavailable,
    "aborted": SearchAborted,
    "setting": LdapSettingError,
}


class ReaderFailed(Exception):
    """The reader process failed in a way a reader in this process would not have."""


@dataclass
class Reading:
    """A reader process at work: the server it reads (its identity, for the
    watermark), its pages as they come, and, once all are taken, its peak memory."""

    server: str
    pages: Iterator[Any]
    peak_rss_kib: int = 0


# A first import's page as planned_pages gives it: the page packed, its plan, and
# whether the child made the plan.
PlannedPage = tuple[PackedPage, ImportPlan | None, bool]


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "connector.ldap.fast_import.import_plan"])
    return context


@contextmanager
def planned_pages(
    cfg: LdapSourceConfig, attributes: list[str], deadline: float, basis: PlanBasis
) -> Iterator[Reading]:
    """Every page made into users, as (the page packed, its plan, whether the child
    made one: see :meth:`PlanBasis.plans_in_reader`), read by a child."""
    with _reading(cfg, attributes, deadline, basis) as reading:
        yield reading


@contextmanager
def marker_pages(
    cfg: LdapSourceConfig, attributes: list[str], deadline: float
) -> Iterator[Reading]:
    """Every entry's id and change marker, as :class:`MarkerPage` s, read by a child."""
    with _reading(cfg, attributes, deadline, None) as reading:
        yield reading


@contextmanager
def _reading(
    cfg: LdapSourceConfig, attributes: list[str], deadline: float, basis: PlanBasis | None
) -> Iterator[Reading]:
    """Pages planned when ``basis`` is given, otherwise ids and change markers."""
    context = _context()
    ours, theirs = context.Pipe(duplex=True)
    process = context.Process(
        target=_child,
        args=(theirs, cfg, attributes, deadline, basis),
        name=f"ldap-reader-{cfg.name}",
        daemon=True,
    )
    process.start()
    theirs.close()
    try:
        ours.send(cfg.password())
        server = _receive(ours, process)
        if server[0] != "server":  # it failed before the first page
            _raise(server)
        reading = Reading(server[1], iter(()))
        reading.pages = _pages(ours, process, reading)
        yield reading
    finally:
        ours.close()  # a child still sending gets a broken pipe and ends
        process.join(JOIN_SECONDS)
        if process.is_alive():
            process.terminate()
            process.join(JOIN_SECONDS)


def _receive(conn: Connection, process: Any) -> tuple[Any, ...]:
    """The child's next message; its log records are logged here on the way."""
    while True:
        while not conn.poll(WAIT_SECONDS) and process.is_alive():
            pass
        try:
            message = conn.recv()
        except EOFError:
            process.join(JOIN_SECONDS)
            raise ReaderFailed(
                f"the directory reader process ended unexpectedly (exit code {process.exitcode})"
            ) from None
        if message[0] != "log":
            return message
        log.log(message[1], "%s", message[2])


def _pages(conn: Connection, process: Any, reading: Reading) -> Iterator[Any]:
    while True:
        message = _receive(conn, process)
        if message[0] == "end":
            reading.peak_rss_kib = message[1]
            log.debug("reader process done; its peak memory: %d KiB", message[1])
            return
        if message[0] != "page":
            _raise(message)
        # The child may read one page further. It may also have ended already (all
        # sent); if it died, the next receive says so.
        with suppress(OSError):
            conn.send(TAKEN)
        yield message[1]


def _raise(message: tuple[Any, ...]) -> None:
    kind, text = message[1], message[2]
    raise _FAILURES.get(kind, ReaderFailed)(text)


# ------------------------------------------------------------------ in the child


class _PipeLog(logging.Handler):
    """The child's log records go to the parent, which logs them as its own."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(logging.INFO)
        self.conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        with suppress(OSError, ValueError):  # the parent is gone: nothing to tell
            self.conn.send(("log", record.levelno, self.format(record)))


def _child(
    conn: Connection,
    cfg: LdapSourceConfig,
    attributes: list[str],
    deadline: float,
    basis: PlanBasis | None,
) -> None:
    from connector.ldap.fast_import.import_plan import plan_page
    from connector.ldap.fast_import.transfer import pack
    from connector.ldap.fast_import.user_templates import UserBuilder
    from connector.ldap.mapped_pages import map_page, marker_page

    root = logging.getLogger("connector")
    root.addHandler(_PipeLog(conn))
    root.setLevel(logging.INFO)
    try:
        password = conn.recv()
        taken = 0
        builder = UserBuilder(cfg)
        contacts = basis.state.mapping if basis else None
        with LdapClient(cfg, deadline=deadline, password=password) as client:
            conn.send(("server", client.server_id))
            for number, page in enumerate(client.pages(cfg.filter, attributes)):
                if basis is None:
                    conn.send(("page", marker_page(cfg, page)))
                else:
                    mapped = map_page(builder, page, contacts=contacts)
                    reader_plans = basis.plans_in_reader(number)
                    plan = plan_page(basis, mapped) if reader_plans else None
                    conn.send(("page", (pack(mapped), plan, reader_plans)))
                # Sent, not yet taken: at most LEAD pages, whatever the pipe would hold.
                while number + 1 - taken >= LEAD:
                    if conn.recv() == TAKEN:
                        taken += 1
        conn.send(("end", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
    except (BrokenPipeError, EOFError):  # the parent stopped reading: just end
        return
    except LdapUnavailable as exc:
        _send_failure(conn, "unavailable", exc)
    except SearchAborted as exc:
        _send_failure(conn, "aborted", exc)
    except LdapSettingError as exc:
        _send_failure(conn, "setting", exc)
    except Exception as exc:  # reported to the parent, which fails the run with it
        _send_failure(conn, "internal", f"internal error: {type(exc).__name__}: {exc}")


def _send_failure(conn: Connection, kind: str, error: Exception | str) -> None:
    with suppress(OSError, ValueError):
        conn.send(("error", kind, str(error)))
