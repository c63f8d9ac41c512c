"""Benchmark: "Update all synchronized users" over N linked users.

    .venv/bin/python bench/resync.py [--users 100000] [--backend sqlite|postgresql|both]

For each backend it fills a fresh database with N users, their contacts and
links (bulk inserts, not timed), then runs the resync job in a fresh process
twice: once after a mapping change that alters every contact, once with
nothing to change. It prints throughput, rows rewritten and the job process's
peak RSS, also for N/10 users so that flat memory can be seen.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("CONNECTOR_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _user(i: int) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"user{i:06d}@example.com",
        "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
        "displayName": f"Given{i} Family{i}",
        "title": "Engineer",
        "emails": [{"type": "work", "value": f"user{i:06d}@example.com", "primary": True}],
        "phoneNumbers": [{"type": "work", "value": f"+49 30 {i:07d}"}],
        "addresses": [{"type": "work", "locality": "Berlin", "country": "DE"}],
    }


def setup(url: str, count: int) -> None:
    from sqlalchemy import insert

    from connector.catalogue import load_catalogue
    from connector.db.engine import Database
    from connector.db.models import Contact, ContactLink, Source, User, utcnow
    from connector.mapping import apply
    from connector.services import bootstrap, mappings
    from connector.services.linking import search_text

    db = Database(url)
    db.upgrade()
    catalogue = load_catalogue(None)
    with db.sessions.begin() as session:
        bootstrap.ensure_defaults(session, catalogue)
        current = mappings.current(session)
        source_id = session.query(Source.id).filter(Source.name == "local").scalar()
    now = utcnow()
    batch = 5000
    for start in range(0, count, batch):
        users, contacts, links = [], [], []
        for i in range(start, min(count, start + batch)):
            data = _user(i)
            uid, cid = str(uuid.uuid4()), str(uuid.uuid4())
            fields = apply(data, current.rows)
            users.append(
                {
                    "id": uid,
                    "source_id": source_id,
                    "user_name": data["userName"],
                    "user_name_ci": data["userName"],
                    "external_id": None,
                    "active": True,
                    "resource": data,
                    "sync_to_contact": True,
                    "sync_direction": None,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            contacts.append(
                {
                    "id": cid,
                    "fields": fields,
                    "search_text": search_text(fields),
                    "active": True,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            links.append(
                {
                    "user_id": uid,
                    "contact_id": cid,
                    "state": "active",
                    "mapping_version": current.version,
                    "created_at": now,
                }
            )
        with db.engine.begin() as conn:
            conn.execute(insert(User.__table__), users)
            conn.execute(insert(Contact.__table__), contacts)
            conn.execute(insert(ContactLink.__table__), links)
    db.dispose()


def run_job(url: str, change_mapping: bool) -> dict:
    """Runs in its own process so that its peak RSS is the job's own."""
    from connector.config import Settings
    from connector.services import jobs, mappings
    from connector.services.context import Context

    ctx = Context.from_settings(Settings.model_validate({"database": {"url": url}}))
    if change_mapping:

        def swap(session):  # every contact changes: first and last name swap places
            rows = [r.to_json() for r in mappings.current(session).rows]
            for row in rows:
                if row["contactField"] == "firstName":
                    row["contactField"] = "lastName"
                elif row["contactField"] == "lastName":
                    row["contactField"] = "firstName"
            mappings.save(session, ctx.catalogue, "bench", rows)

        ctx.run(swap)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    job_id = ctx.run(lambda s: jobs.start(s, "bench", jobs.RESYNC).id)
    started = time.perf_counter()
    job = jobs.run(ctx, job_id)
    elapsed = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ctx.db.dispose()
    return {
        "seconds": elapsed,
        "done": job.done,
        "changed": job.changed,
        "state": job.state,
        "rss_start_mb": rss_before / 1024,
        "rss_peak_mb": rss_after / 1024,
    }


def _child(url: str, change: bool) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child-run", url, "--change" if change else "--no-change"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fresh_url(backend: str, folder: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.db'}", None
    import psycopg

    name = f"connector_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", name


def _drop(name: str | None) -> None:
    if name:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--child-run")
    parser.add_argument("--change", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    if args.child_run:
        print(json.dumps(run_job(args.child_run, args.change)))
        return
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(
        f"{'backend':<11}{'users':>8}{'run':>12}{'seconds':>9}{'contacts/s':>12}"
        f"{'rewritten':>11}{'peak RSS MB':>13}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            for count in (args.users // 10, args.users):
                url, dbname = _fresh_url(backend, Path(tmp))
                try:
                    setup(url, count)
                    for label, change in (("remap", True), ("unchanged", False)):
                        r = _child(url, change)
                        assert r["state"] == "done" and r["done"] == count, r
                        print(
                            f"{backend:<11}{count:>8}{label:>12}{r['seconds']:>9.1f}"
                            f"{count / r['seconds']:>12,.0f}{r['changed']:>11}"
                            f"{r['rss_peak_mb']:>13.0f}",
                            flush=True,
                        )
                finally:
                    _drop(dbname)


if __name__ == "__main__":
    main()
