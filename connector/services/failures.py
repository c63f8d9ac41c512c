"""What a failed transaction means: worth retrying, the database away, or one bad row.

Three answers, used by every place that must decide what to do after a write
failed: ``Context.run`` retries :func:`is_transient` failures (a concurrent
writer won a race; PostgreSQL broke a deadlock or a serialisation conflict);
the job runner and the LDAP synchronisers retry a failed batch row by row and
count only the row that still fails, with :func:`reason`, unless the failure
:func:`is_unavailable` (the database itself is gone or busy: then the work
stops and resumes later, and no row is blamed).
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

# SQLSTATEs PostgreSQL uses when it aborts a transaction that may simply be run again.
SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
RETRYABLE_SQLSTATES = frozenset({SERIALIZATION_FAILURE, DEADLOCK_DETECTED})

MAX_REASON_CHARS = 300


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (PostgreSQL; SQLite has none)."""
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    return getattr(original, "sqlstate", None)


def is_transient(exc: BaseException) -> bool:
    """A failure that running the same transaction again may not meet."""
    return isinstance(exc, StaleDataError) or sqlstate(exc) in RETRYABLE_SQLSTATES


def is_unavailable(exc: BaseException | None) -> bool:
    """The database, not the data, failed: lost connection, locked, busy, shutting down,
    or retries of a race ran out (``Context.run``'s 409 names the race as its cause)."""
    if exc is None:
        return False
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (OperationalError, InterfaceError)) or is_transient(exc):
        return True
    return is_transient(exc.__cause__) if exc.__cause__ is not None else False


def reason(exc: BaseException) -> str:
    """One short line saying why a row could not be written (no SQL, no parameters)."""
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(original).strip().splitlines()
    text = lines[0] if lines else type(original).__name__
    return printable(text)[:MAX_REASON_CHARS]


def printable(text: str) -> str:
    """``text`` as valid UTF-8 without NUL, so that an error message about a bad value
    can itself be stored on every database (the bad characters appear escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
