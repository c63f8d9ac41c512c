"""Benchmark: LDAP source runs against a private slapd with N inetOrgPerson entries.

    .venv/bin/python bench/ldap_sync.py [--entries 100000] [--backend sqlite|postgresql]

Loads N entries with slapadd from a generated LDIF (modifyTimestamps spread over
the past year, as in a directory that has lived a while), then times, each phase
in a fresh process so that its peak RSS is its own:

  (a) floor: a bare ldap3 paged read of the same entries and attributes
  (b) the connector's first full import into users and contacts
  (c) an incremental poll with no changes
  (d) an incremental poll after 100 changes (and one after 1% changed)
  (e) a reconciliation after 100 changes and 50 deletions
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("CONNECTOR_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
OU = "ou=people,dc=example,dc=org"
PASSWORD_ENV = "BENCH_LDAP_PASSWORD"


def write_ldif(path: Path, count: int) -> None:
    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=364) / max(count, 1)
    with path.open("w", encoding="utf-8") as out:
        out.write(f"dn: {OU}\nobjectClass: organizationalUnit\nou: people\n\n")
        for i in range(count):
            stamp = (start + step * i).strftime("%Y%m%d%H%M%SZ")
            out.write(
                f"dn: uid=user{i:06d},{OU}\n"
                "objectClass: inetOrgPerson\n"
                f"uid: user{i:06d}\ncn: Given{i} Family{i}\nsn: Family{i}\n"
                f"givenName: Given{i}\ndisplayName: Given{i} Family{i}\n"
                f"mail: user{i:06d}@example.org\ntelephoneNumber: +49 30 {i:07d}\n"
                f"mobile: +49 170 {i:07d}\ntitle: Engineer\nemployeeNumber: {i}\n"
                f"departmentNumber: D{i % 50}\no: Example\npreferredLanguage: de\n"
                f"createTimestamp: {stamp}\nmodifyTimestamp: {stamp}\n\n"
            )


def start_slapd(count: int, workdir: Path):  # type: ignore[no-untyped-def]
    """A private slapd (tests/support/slapd.py) with N entries loaded offline by slapadd."""
    from tests.support.slapd import SLAPADD, SlapdServer

    server = SlapdServer().start()
    ldif = workdir / "people.ldif"
    write_ldif(ldif, count)
    proc = server._proc
    assert proc is not None
    proc.terminate()
    proc.wait(timeout=10)
    began = time.monotonic()
    subprocess.run(
        [SLAPADD, "-q", "-n2", "-F", str(server.root / "slapd.d"), "-l", str(ldif)],
        check=True,
        capture_output=True,
    )
    loaded = time.monotonic() - began
    server._launch(server.port)
    return server, loaded


def source(server, overlap: int = 60) -> dict:  # type: ignore[no-untyped-def]
    return {
        "name": "corp",
        "urls": [server.url],
        "bind_dn": server.admin_dn,
        "bind_password_env": PASSWORD_ENV,
        "base_dn": OU,
        "sync_to_contact": True,
        "page_size": 1000,
        "overlap_seconds": overlap,
        "delete_guard": {"max_count": 1000, "max_percent": 5},
        "timeouts": {"receive": 120, "run": 36000},
    }


# ------------------------------------------------------------------ phases (child processes)


def phase(args: argparse.Namespace) -> None:
    spec = json.loads(args.phase)
    os.environ[PASSWORD_ENV] = spec["password"]
    began = time.monotonic()
    result = _floor(spec) if spec["name"] == "floor" else _connector(spec)
    result["seconds"] = time.monotonic() - began
    # A full run reads in a reader process; both are counted (they run side by side).
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["peak_rss_mb"] = (own + result.pop("reader_peak_rss_kib", 0)) / 1024
    print(json.dumps(result))


def _floor(spec: dict) -> dict:
    """Bare ldap3, as its documentation shows it: no mapping, no database, none of
    the connector's own decoding (connector.ldap.fast_import.ber)."""
    import ldap3

    from connector.ldap.settings import LdapSourceConfig

    cfg = LdapSourceConfig.model_validate(spec["source"])
    count, cookie = 0, None
    conn = ldap3.Connection(
        ldap3.Server(cfg.urls[0], get_info=ldap3.NONE),
        user=cfg.bind_dn,
        password=cfg.password(),
        auto_bind=True,
        read_only=True,
    )
    with conn:
        while True:
            conn.search(
                cfg.base_dn,
                cfg.filter,
                attributes=cfg.read_attributes(),
                paged_size=cfg.page_size,
                paged_cookie=cookie,
            )
            count += len(conn.response)
            control = conn.result["controls"].get("1.2.840.113556.1.4.319")
            cookie = control["value"]["cookie"] if control else None
            if not cookie:
                break
    return {"read": count, "attributes": len(cfg.read_attributes())}


def _connector(spec: dict) -> dict:
    from connector import startup
    from connector.config import Settings
    from connector.ldap import run_service

    settings = Settings.model_validate(
        {
            "data_dir": spec["data_dir"],
            "database": {"url": spec["url"]},
            "sources": {"ldap": [spec["source"]]},
        }
    )
    ctx = startup.open_context(settings, upgrade=True)
    reader_peak = [0]

    def progress(report: dict) -> None:  # type: ignore[type-arg]
        reader_peak[0] = max(reader_peak[0], report.get("readerPeakRssKib", 0))

    began = time.monotonic()
    run = run_service.run_now(
        ctx, "corp", "bench", full=spec["name"] == "reconcile", progress=progress
    )
    run["run_seconds"] = time.monotonic() - began
    run["reader_peak_rss_kib"] = reader_peak[0]
    ctx.db.dispose()
    return {
        k: run[k]
        for k in (
            "run_seconds",
            "reader_peak_rss_kib",
            "kind",
            "state",
            "read",
            "created",
            "updated",
            "deleted",
            "unchanged",
            "errors",
            "message",
        )
    }


def _run_phase(spec: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"phase {spec['name']} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _change(server, ids: list[int], deletions: list[int]) -> None:  # type: ignore[no-untyped-def]
    with server.admin_session() as conn:
        for i in ids:
            conn.modify(
                f"uid=user{i:06d},{OU}",
                {"title": [("MODIFY_REPLACE", [f"Changed {uuid.uuid4()}"])]},
            )
        for i in deletions:
            conn.delete(f"uid=user{i:06d},{OU}")


def _database(backend: str, workdir: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'connector.db'}", None
    import psycopg

    name = f"connector_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase(args)
        return
    rng = random.Random(4)
    with tempfile.TemporaryDirectory(prefix="bench-ldap-") as tmp:
        workdir = Path(tmp)
        server, loaded = start_slapd(args.entries, workdir)
        url, pg_name = _database(args.backend, workdir)
        try:
            base = {
                "password": server.admin_password,
                "source": source(server),
                "url": url,
                "data_dir": str(workdir / "data"),
            }
            print(
                f"{args.entries} entries loaded by slapadd in {loaded:.1f}s; backend {args.backend}"
            )
            rows = []
            rows.append(
                ("(a) bare ldap3 paged read (floor)", _run_phase({**base, "name": "floor"}))
            )
            rows.append(("(b) first full import", _run_phase({**base, "name": "poll"})))
            time.sleep(1.1)  # later changes get a later modifyTimestamp than the import saw
            rows.append(("    poll, no changes", _run_phase({**base, "name": "poll"})))
            _change(server, rng.sample(range(args.entries), 100), [])
            rows.append(("(c) poll after 100 changes", _run_phase({**base, "name": "poll"})))
            one_percent = max(1, args.entries // 100)
            _change(server, rng.sample(range(args.entries), one_percent), [])
            rows.append(
                (f"    poll after 1% ({one_percent}) changed", _run_phase({**base, "name": "poll"}))
            )
            picks = rng.sample(range(args.entries), 150)
            _change(server, picks[:100], picks[100:])
            rows.append(
                (
                    "(d) reconcile, 100 changed + 50 deleted",
                    _run_phase({**base, "name": "reconcile"}),
                )
            )
        finally:
            server.stop()
            if pg_name:
                import psycopg

                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        print(f"{'phase':44} {'wall s':>8} {'run s':>8} {'peak MB':>8}  result")
        for label, r in rows:
            detail = (
                f"read {r['read']}"
                if "state" not in r
                else f"{r['kind']} {r['state']}: read {r['read']}, created {r['created']}, "
                f"updated {r['updated']}, deleted {r['deleted']}, unchanged {r['unchanged']}, "
                f"errors {r['errors']}"
            )
            inner = r.get("run_seconds", r["seconds"])
            print(f"{label:44} {r['seconds']:8.2f} {inner:8.2f} {r['peak_rss_mb']:8.0f}  {detail}")
        floor = rows[0][1]["seconds"]
        inner = [r.get("run_seconds", r["seconds"]) for _, r in rows]
        print(
            f"import / floor = {inner[1] / floor:.2f}x (target <= 1.5x); "
            f"reconcile / floor = {inner[5] / floor:.2f}x (target < 0.5x); "
            f"poll after 100 changes {inner[3]:.2f}s (target < 0.5s)"
        )


if __name__ == "__main__":
    main()
