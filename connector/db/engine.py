"""Engine and session set-up, with the SQLite settings the embedded default needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import connector.queries.user_emails  # noqa: F401  (keeps the e-mail lookup table in step)
from connector.db.checkpoints import BackgroundCheckpoints
from connector.db.write_lock import FairLock

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
# Execution option of the connections of read transactions (Database.read_sessions).
READ_ONLY = "connector_read_only"


def _configure_sqlite(engine: Engine, *, background_checkpoints: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if background_checkpoints:  # connector/db/checkpoints.py does them
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            # A read: WAL gives it a snapshot without the write lock, so reads
            # neither wait for writers nor make them wait.
            connection.exec_driver_sql("BEGIN")
            return
        # Take the write lock up front: a deferred transaction that later wants
        # to write fails at once with "database is locked" under concurrency.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL (None: another database, or in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def create_db_engine(url: str, *, background_checkpoints: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"isolation_level": None, "timeout": 15})
        _configure_sqlite(engine, background_checkpoints=background_checkpoints)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


class SchemaStatus(NamedTuple):
    """Where the database's schema is against what this version of the code needs."""

    current: str | None  # Alembic's revision in the database (None: never migrated)
    head: str  # the newest migration this code ships
    known: bool  # the current revision is one of this code's (False: a newer release's)

    @property
    def behind(self) -> bool:
        """Older than the code: serving or claiming jobs would meet missing columns.

        A revision this code does not know is a newer release's (a rolling upgrade
        migrated first): that schema is taken as compatible, not as behind."""
        return self.current != self.head and (self.current is None or self.known)

    @property
    def message(self) -> str:
        return (
            f"database schema is at {self.current or 'no revision (empty database)'}, "
            f"this version needs {self.head}: run `connector db upgrade`"
        )


def _migrations() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic: "Can't locate revision"
        return False


class Database:
    """One engine and its session factory.

    ``background_checkpoints`` (serving processes): on a SQLite file, WAL checkpoints
    run in a thread of their own instead of inside writers' commits
    (connector/db/checkpoints.py), until :meth:`dispose`."""

    def __init__(self, url: str, *, background_checkpoints: bool = False) -> None:
        self.url = url
        path = sqlite_file(url) if background_checkpoints else None
        self.checkpoints = BackgroundCheckpoints(path) if path is not None else None
        self.engine = create_db_engine(url, background_checkpoints=self.checkpoints is not None)
        if self.checkpoints is not None:
            self.checkpoints.start()
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite: this process's write transactions take turns here first (write_lock.py).
        self.write_lock = FairLock() if self.dialect == "sqlite" else None
        # Sessions that only read see one snapshot from their first statement to the
        # end, as a preview walking every contact needs: on SQLite a plain (deferred)
        # BEGIN, not the write lock (WAL keeps the snapshot); on PostgreSQL REPEATABLE
        # READ READ ONLY (a write by mistake is refused).
        read_options: dict[str, Any] = {READ_ONLY: True}
        if self.dialect == "postgresql":
            read_options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        self.read_sessions: sessionmaker[Session] = sessionmaker(
            self.engine.execution_options(**read_options), expire_on_commit=False
        )
        # How a read transaction ends. PostgreSQL: with COMMIT, which keeps nothing
        # (READ ONLY): psycopg forgets every statement it prepared on a connection at
        # each ROLLBACK (and sends DEALLOCATE ALL), so reads ended by a rollback kept
        # every statement of every request unprepared, parsed and planned anew.
        # SQLite: rolled back, so that a write made by mistake in a read is not kept.
        self.reads_end_with_commit = self.dialect == "postgresql"

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self, revision: str = "heads") -> None:
        """Apply every pending Alembic migration (up to ``revision``: tests of an old schema)."""
        config = _migrations()
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def schema_status(self) -> SchemaStatus:
        """Alembic's revision in the database against the code's head (raises when the
        database does not answer). Web replicas and workers ask it before they serve."""
        script = ScriptDirectory.from_config(_migrations())
        head = script.get_current_head()
        assert head is not None  # the migrations have one head (merges keep it so)
        with self.engine.connect() as connection:
            # Read Alembic's table directly: MigrationContext logs two lines per call,
            # and workers and probes ask every few seconds.
            if inspect(connection).has_table(VERSION_TABLE):
                versions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
                current = max(versions.scalars(), default=None)
            else:
                current = None
        known = current is not None and _known(script, current)
        return SchemaStatus(current, head, known)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
        if self.checkpoints is not None:
            self.checkpoints.stop()
