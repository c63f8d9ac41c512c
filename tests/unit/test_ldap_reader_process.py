"""The reader process's messages: failures come back as the errors a reader in
this process would raise; a reader that dies says so instead of hanging."""

from __future__ import annotations

import os

import pytest

from connector.ldap.client import LdapUnavailable, SearchAborted
from connector.ldap.fast_import import reader_process


def _dies(conn: object) -> None:
    os._exit(3)


def _fails_then_ends(conn: object) -> None:
    conn.send(("log", 30, "ldap://dc1: unavailable"))  # type: ignore[attr-defined]
    conn.send(("error", "aborted", "the run took longer than 60s"))  # type: ignore[attr-defined]


def _run(target: object) -> tuple[object, object]:
    context = reader_process._context()
    ours, theirs = context.Pipe(duplex=True)
    process = context.Process(target=target, args=(theirs,), daemon=True)
    process.start()
    theirs.close()
    return ours, process


def test_a_reader_that_dies_is_reported_with_its_exit_code() -> None:
    ours, process = _run(_dies)
    with pytest.raises(reader_process.ReaderFailed, match="exit code 3"):
        reader_process._receive(ours, process)  # type: ignore[arg-type]


def test_failures_are_raised_as_the_readers_own_and_logs_pass_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ours, process = _run(_fails_then_ends)
    with pytest.raises(SearchAborted, match="longer than 60s"):
        reading = reader_process.Reading("ldap://dc1", iter(()))
        list(reader_process._pages(ours, process, reading))  # type: ignore[arg-type]
    assert "ldap://dc1: unavailable" in caplog.text
    process.join(5)  # type: ignore[attr-defined]
    with pytest.raises(LdapUnavailable, match="no server"):
        reader_process._raise(("error", "unavailable", "no server"))
