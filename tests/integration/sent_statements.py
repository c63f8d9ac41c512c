"""The SQL statements a test's own thread sends, caught with an engine event.

The job runner's polls run in other threads and are left out, so what is caught
is what the request under test (the Flask test client answers in the test's
thread) sends to the database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event

from connector.services.context import Context

T = TypeVar("T")


@contextmanager
def sent_statements(ctx: Context, keep: Callable[[str, Any], T | None]) -> Iterator[list[T]]:
    """Within the block, ``keep(statement, parameters)`` of each statement sent from
    this thread is added to the list (None: the statement is left out)."""
    seen: list[T] = []
    caller = threading.get_ident()

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if threading.get_ident() != caller:
            return  # the job runner's polls
        kept = keep(statement, parameters)
        if kept is not None:
            seen.append(kept)

    event.listen(ctx.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", record)
