"""Benchmark: the mapping preview against the "Update all synchronized users" it previews.

    .venv/bin/python bench/mapping_preview.py [--users 100000] [--backend sqlite|postgresql|both]

For each backend it fills a fresh database with N users, their contacts and links
(bulk inserts, as bench/resync.py does; not timed), then in one process:

* remap: previews a mapping that changes every contact (first and last name swap
  places), saves it and runs the job; then
* unchanged: previews the mapping in force and runs the job again (nothing to change).

It prints both times, the ratio preview / update (the target is at most 1.0) and
checks that the preview's ``changed`` is the job's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from resync import _drop, _fresh_url, setup  # bench/ is on sys.path when run as a script


def swapped_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    swap = {"firstName": "lastName", "lastName": "firstName"}
    return [{**r, "contactField": swap.get(r["contactField"], r["contactField"])} for r in rows]


def measure(url: str) -> list[tuple[str, float, float, int, int]]:
    from connector.config import Settings
    from connector.services import jobs, mapping_preview, mappings
    from connector.services.context import Context

    ctx = Context.from_settings(Settings.model_validate({"database": {"url": url}}))
    batch = ctx.settings.jobs.batch_size
    current = ctx.run(lambda s: [r.to_json() for r in mappings.current(s).rows])
    results = []
    for label, rows in (("remap", swapped_rows(current)), ("unchanged", None)):
        if rows is None:
            rows = ctx.run(lambda s: [r.to_json() for r in mappings.current(s).rows])
        started = time.perf_counter()
        preview = ctx.read(
            lambda s, rows=rows: mapping_preview.preview(s, ctx.catalogue, rows, None, batch=batch)
        )
        preview_seconds = time.perf_counter() - started
        ctx.run(lambda s, rows=rows: mappings.save(s, ctx.catalogue, "bench", rows))
        job_id = ctx.run(lambda s: jobs.start(s, "bench", jobs.RESYNC).id)
        started = time.perf_counter()
        job = jobs.run(ctx, job_id)
        update_seconds = time.perf_counter() - started
        assert job.state == "done" and preview["changed"] == job.changed, (preview, job.changed)
        results.append((label, preview_seconds, update_seconds, preview["changed"], job.done))
    ctx.db.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(
        f"{'backend':<11}{'contacts':>9}{'run':>11}{'preview s':>11}{'update s':>10}"
        f"{'ratio':>7}{'changed':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            url, dbname = _fresh_url(backend, Path(tmp))
            try:
                setup(url, args.users)
                for label, preview_s, update_s, changed, done in measure(url):
                    print(
                        f"{backend:<11}{done:>9}{label:>11}{preview_s:>11.1f}{update_s:>10.1f}"
                        f"{preview_s / update_s:>7.2f}{changed:>9}",
                        flush=True,
                    )
            finally:
                _drop(dbname)


if __name__ == "__main__":
    main()
