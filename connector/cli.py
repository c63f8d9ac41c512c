"""The ``connector`` command line: serve, worker, db upgrade, tokens, admins, config check,
resync, sync, doctor."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from connector.cli_progress import ProgressLine
from connector.config import ConfigError, Settings, load_settings
from connector.errors import ServiceError

if TYPE_CHECKING:
    from connector.db.models import Job
    from connector.services.context import Context


def _context(settings: Settings) -> Context:
    """The embedded default: every command brings the database up to date before it works
    (unless ``database.migrate`` is false: then `connector db upgrade` does)."""
    from connector import startup

    return startup.open_context(settings, upgrade=startup.migrates(settings, default=True))


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from connector import startup, startup_heap
    from connector.logs import configure_logging
    from connector.web.app import create_app
    from connector.web.serving import serve

    configure_logging(settings)
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    started = startup.start(settings, upgrade=startup.migrates(settings, default=True))
    app = create_app(started.ctx, started.runner)
    startup_heap.freeze()
    base = f"http://{host}:{port}"
    print(f"connector serving on {base}")
    print(f"  console:      {base}/admin/  (account: connector admin create NAME)")
    print(f"  admin API:    {base}/api/v1/  (token: connector token create --admin)")
    print(f"  health check: {base}/healthz  (probes: {base}/livez, {base}/readyz)")
    if not started.runner.enabled:
        print("  jobs:         web only (scheduler off); `connector worker` runs them")
    print(f"  database:     {settings.database_url.split('@')[-1]}")
    sys.stdout.flush()
    try:
        serve(app, host=host, port=port, max_body_bytes=settings.server.max_body_bytes)
    finally:
        started.runner.shutdown()
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from connector.logs import configure_logging
    from connector.worker import run_worker

    configure_logging(settings)
    return run_worker(
        settings,
        migrate=args.migrate,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
    )


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from connector import startup

    startup.open_context(settings, upgrade=True)  # the migrator, whatever database.migrate says
    print("database is up to date")
    return 0


def cmd_config_check(settings: Settings, args: argparse.Namespace) -> int:
    from connector.catalogue import load_catalogue

    catalogue = load_catalogue(settings.catalogue_dir)
    where = settings.source_file or "built-in defaults"
    print(f"configuration OK ({where})")
    print(f"  database: {settings.database_url.split('@')[-1]}")
    print(
        f"  catalogue: {len(catalogue.user_fields)} user fields, "
        f"{len(catalogue.contact_fields)} contact fields "
        f"({settings.catalogue_dir or 'built in'})"
    )
    for source in settings.sources.ldap:
        print(
            f"  LDAP source {source.name!r} ({source.preset}): {', '.join(source.urls)}, "
            f"base {source.base_dn}"
        )
    return 0


def cmd_token_create(settings: Settings, args: argparse.Namespace) -> int:
    from connector.services import tokens

    if bool(args.admin) == bool(args.source):
        print("error: give exactly one of --admin or --source NAME", file=sys.stderr)
        return 2
    ctx = _context(settings)
    kind = tokens.ADMIN if args.admin else tokens.SCIM
    name = args.name or ("admin" if args.admin else args.source)
    _, secret = ctx.run(
        lambda s: tokens.create(s, "cli", name=name, kind=kind, source_name=args.source)
    )
    what = (
        f"admin API token {name!r}"
        if args.admin
        else f"SCIM token {name!r} for source {args.source!r}"
    )
    print(f"created {what}; it is shown only once:", file=sys.stderr)
    print(secret)
    return 0


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    if not sys.stdin.isatty():
        print("error: no terminal to prompt on; use --password-stdin", file=sys.stderr)
        return None
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        print("error: the two passwords differ", file=sys.stderr)
        return None
    return first


def cmd_admin_create(settings: Settings, args: argparse.Namespace) -> int:
    from connector.services import admins

    password = _read_password(args)
    if password is None:
        return 2
    ctx = _context(settings)
    ctx.run(lambda s: admins.create(s, "cli", args.name, password))
    print(f"created admin {args.name!r}; sign in at /admin/")
    return 0


def cmd_contacts_resync(settings: Settings, args: argparse.Namespace) -> int:
    from connector.scheduler import run_claimed, worker_name
    from connector.services import jobs

    ctx = _context(settings)
    job = ctx.run(lambda s: jobs.representation(jobs.start(s, "cli", jobs.RESYNC)))
    lease = jobs.Lease(f"cli:{worker_name()}", settings.jobs.lease_seconds)

    line = ProgressLine(sys.stderr)

    def progress(current) -> None:  # type: ignore[no-untyped-def]
        total = max(current.total, 1)
        width = 30
        filled = min(width, int(width * current.done / total))
        line.show(
            f"[{'#' * filled}{'.' * (width - filled)}] "
            f"{current.done}/{current.total} contacts, {current.changed} changed",
            current.done / total,
        )

    if ctx.run(lambda s: jobs.claim(s, lease, job["id"])):
        done = run_claimed(ctx, job["id"], lease, progress=progress)
    else:  # a worker runs it already: follow it
        done = _follow(ctx, job["id"], progress)
    line.finish()
    print(
        f"job {done.id}: {done.state}; {done.done} linked contacts checked, "
        f"{done.changed} changed, {done.errors} errors"
    )
    return 0 if done.errors == 0 else 1


def _follow(ctx: Context, job_id: str, progress: Callable[[Job], None]) -> Job:
    """Show the progress of a job another process runs, until it ends."""
    import time

    from connector.services import jobs

    while True:
        job = ctx.run(lambda s: jobs.get(s, job_id))
        progress(job)
        if job.state not in jobs.UNFINISHED:
            return job
        time.sleep(0.5)


def cmd_doctor(settings: Settings, args: argparse.Namespace) -> int:
    """Report stored values the input rules would refuse; exit 1 if there are any."""
    from connector.services import doctor

    ctx = _context(settings)
    found = 0
    for finding in doctor.scan(ctx):
        found += 1
        print(finding.line(), flush=True)
    if found:
        print(f"{found} stored values would be refused today; repair or delete those objects")
        return 1
    print("no stored value would be refused today")
    return 0


def cmd_sync(settings: Settings, args: argparse.Namespace) -> int:
    """Run LDAP sources now (all configured ones, or --source), or confirm a blocked run."""
    from connector.ldap import run_service as runs

    names = [args.source] if args.source else [s.name for s in settings.sources.ldap]
    if not names:
        print("error: no [[sources.ldap]] in the configuration", file=sys.stderr)
        return 1
    if args.confirm_deletes is not None and not args.source:
        print("error: --confirm-deletes needs --source NAME", file=sys.stderr)
        return 2
    ctx = _context(settings)
    failed = False
    for name in names:
        line = ProgressLine(sys.stderr)

        def progress(counts: dict, name: str = name, line: ProgressLine = line) -> None:  # type: ignore[type-arg]
            line.show(
                f"{name}: {counts['read']} read, {counts['created']} created, "
                f"{counts['updated']} updated, {counts['unchanged']} unchanged, "
                f"{counts['errors']} errors"
            )

        if args.confirm_deletes is not None:
            run = runs.confirm(ctx, name, args.confirm_deletes, "cli", progress=progress)
        else:
            run = runs.run_now(ctx, name, "cli", full=args.full, progress=progress)
        line.finish()
        print(
            f"{name}: run {run['id']} ({run['kind']}) {run['state']}: {run['read']} read, "
            f"{run['created']} created, {run['updated']} updated, {run['deleted']} deleted, "
            f"{run['deactivated']} deactivated, {run['unchanged']} unchanged, "
            f"{run['suppressed']} suppressed, {run['errors']} errors"
        )
        if run["message"]:
            print(f"  {run['message']}")
        for message in run["errorMessages"][:10]:
            print(f"  error: {message}")
        failed = failed or run["state"] != "ok"
    return 1 if failed else 0


# What `connector --help` says: plain text for a terminal, not the module's docstring
# (whose reST markup, ``connector``, would be printed as it is).
DESCRIPTION = (
    "The connector's command line: serve the web server, run a worker, upgrade the "
    "database, create API tokens and console admins, check the configuration, update "
    "synchronized contacts, poll LDAP sources, find stored values the input rules refuse."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connector", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve", help="run the web server, and the job runner and LDAP schedules (embedded)"
    )
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser(
        "worker", help="run queued jobs and LDAP schedules, without HTTP (any number of them)"
    )
    worker.add_argument(
        "--migrate",
        action="store_true",
        help="apply the migrations first (default: wait for 'connector db upgrade')",
    )
    worker.add_argument(
        "--metrics-port",
        type=int,
        help="serve this worker's own Prometheus metrics (its LDAP runs) on this port",
    )
    worker.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="address for --metrics-port (default 127.0.0.1; 0.0.0.0 in a container)",
    )
    worker.set_defaults(func=cmd_worker)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    config = sub.add_parser("config", help="configuration").add_subparsers(
        dest="cfg", required=True
    )
    config.add_parser("check", help="validate the configuration").set_defaults(
        func=cmd_config_check
    )

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="tok", required=True)
    create = token.add_parser("create", help="create a token and print it")
    create.add_argument("--admin", action="store_true", help="an admin API token")
    create.add_argument("--source", help="a SCIM client token for this source")
    create.add_argument("--name", help="a name to recognise the token by")
    create.set_defaults(func=cmd_token_create)

    admin = sub.add_parser("admin", help="admin console accounts").add_subparsers(
        dest="adm", required=True
    )
    admin_create = admin.add_parser("create", help="create an admin who signs in to /admin/")
    admin_create.add_argument("name")
    admin_create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )
    admin_create.set_defaults(func=cmd_admin_create)

    contacts = sub.add_parser("contacts", help="contacts module").add_subparsers(
        dest="contacts", required=True
    )
    contacts.add_parser("resync", help='"Update all synchronized users"').set_defaults(
        func=cmd_contacts_resync
    )

    sub.add_parser(
        "doctor", help="find stored values the input rules would refuse (exit 1 if any)"
    ).set_defaults(func=cmd_doctor)

    sync = sub.add_parser("sync", help="poll LDAP sources now")
    sync.add_argument("--source", help="only this LDAP source (default: all)")
    sync.add_argument("--full", action="store_true", help="a full reconciliation")
    sync.add_argument(
        "--confirm-deletes",
        type=int,
        metavar="RUN_ID",
        help="allow the deletions a blocked run found (runs a reconciliation now)",
    )
    sync.set_defaults(func=cmd_sync)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        return int(args.func(settings, args))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
