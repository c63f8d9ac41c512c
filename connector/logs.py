"""Logging set-up: text or one JSON object per line, with bearer secrets masked.

Every line carries the context it was written in, when there is one: the HTTP
request's id, the source, the job id and the LDAP run id. The entry points set
it (:func:`context`): the web hooks for a request, ``jobs.run`` for a job, an
LDAP run's execution for the run. Context values pass through the same mask as
messages, so a header a client chose can never smuggle a secret into the log.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, TypeVar

from connector.config import Settings

_SECRET = re.compile(r"(lsc_)[A-Za-z0-9_-]{8,}|(Bearer\s+)\S+|(password=)[^&\s]+", re.I)

# The context fields, in the order a JSON line shows them.
FIELDS = ("request_id", "source", "job_id", "ldap_run_id")
_CONTEXT: ContextVar[dict[str, Any]] = ContextVar("connector_log_context", default={})  # noqa: B039

F = TypeVar("F", bound=Callable[..., Any])


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: (m.group(1) or m.group(2) or m.group(3)) + "***", text)


def current() -> dict[str, Any]:
    """The context of the lines written now (a copy)."""
    return dict(_CONTEXT.get())


@contextmanager
def context(**values: Any) -> Iterator[None]:
    """Add ``values`` (names from :data:`FIELDS`) to every line written inside the block."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown log context field {sorted(unknown)[0]!r}")
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in values.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def enter(**values: Any) -> Token[dict[str, Any]]:
    """Start a context where no ``with`` block fits (a request's before/teardown hooks);
    :func:`leave` with the token ends it."""
    return _CONTEXT.set({k: v for k, v in values.items() if v is not None})


def leave(token: Token[dict[str, Any]]) -> None:
    try:
        _CONTEXT.reset(token)
    except ValueError:  # ended in another context (a streamed response): nothing to undo here
        _CONTEXT.set({})


def bind(**values: Any) -> None:
    """Add ``values`` to the current context until its block ends (a request's
    source, known only once its token is read)."""
    _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in values.items() if v is not None}})


def tagged(parameter: str, field: str) -> Callable[[F], F]:
    """Decorate a function so that its ``parameter`` is the log context ``field``
    while it runs (``@tagged("job_id", "job_id")`` on ``jobs.run``)."""

    def decorate(function: F) -> F:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            value = signature.bind_partial(*args, **kwargs).arguments.get(parameter)
            with context(**{field: value}):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _context_fields() -> dict[str, Any]:
    values = _CONTEXT.get()
    return {
        name: redact(str(values[name])) if isinstance(values[name], str) else values[name]
        for name in FIELDS
        if name in values
    }


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = _context_fields()
        if fields:
            line += " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]"
        return redact(line)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            **_context_fields(),
        }
        if record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.logging.format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.logging.level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
