"""SQLite's WAL checkpoints of a serving process run in a thread of their own
(connector/db/checkpoints.py), not inside a writer's commit."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import text

from connector.db.engine import Database

ROWS = 1500  # about 1.5 MB of log: under SQLite's own 1,000-page threshold


def _fill(db: Database) -> None:
    with db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE filler (value TEXT)"))
    with db.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO filler (value) VALUES (:value)"),
            [{"value": f"{i:04d}" + "x" * 1000} for i in range(ROWS)],
        )


def _file_grows(path: Path, size: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.getsize(path) > size:
            return True
        time.sleep(0.05)
    return False


def test_a_serving_database_checkpoints_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "serving.db"
    db = Database(f"sqlite:///{path}", background_checkpoints=True)
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        _fill(db)
        # The log's pages reach the database file without any writer's commit.
        assert _file_grows(path, ROWS * 1000, seconds=10), os.path.getsize(path)
        assert db.checkpoints is not None and db.checkpoints.runs > 0
    finally:
        db.dispose()
    assert db.checkpoints is not None
    assert not db.checkpoints._thread.is_alive()


def test_other_processes_keep_sqlite_s_own_checkpoints(tmp_path: Path) -> None:
    """Without the thread (a one-off command) SQLite checkpoints at its threshold, so
    this much log stays in the log: what the test above sees is the thread's work."""
    path = tmp_path / "command.db"
    db = Database(f"sqlite:///{path}")
    try:
        assert db.checkpoints is None
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        _fill(db)
        assert not _file_grows(path, ROWS * 1000, seconds=1), os.path.getsize(path)
    finally:
        db.dispose()


def test_postgresql_has_no_checkpoint_thread() -> None:
    db = Database("postgresql+psycopg://postgres@127.0.0.1:5432/test", background_checkpoints=True)
    try:
        assert db.checkpoints is None
    finally:
        db.dispose()
