"""The console's secret key file, made by the first of several processes starting together."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path
from typing import Any

from connector.web.console.session import MIN_KEY_LENGTH, load_secret_key

PROCESSES = 6
ROUNDS = 15


def _load(folder: str, start: Any, out: Any) -> None:
    start.wait()
    try:
        out.put(load_secret_key(Path(folder)))
    except Exception as exc:  # the failure is what the test reports
        out.put(f"failed: {exc}")


def test_web_processes_starting_together_all_get_the_one_key(tmp_path: Path) -> None:
    """gunicorn starts its workers at once: each must boot with the same, whole key
    (one once read the file another had created but not yet written)."""
    context = multiprocessing.get_context("fork")
    for round_number in range(ROUNDS):
        folder = tmp_path / f"data-{round_number}"
        start, out = context.Event(), context.Queue()
        workers = [
            context.Process(target=_load, args=(str(folder), start, out)) for _ in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        start.set()
        keys = [out.get(timeout=30) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        assert len(set(keys)) == 1, keys
        (key,) = set(keys)
        assert len(key) >= MIN_KEY_LENGTH, key
        key_file = folder / "secret_key"
        assert key_file.read_text().strip() == key
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert [p.name for p in folder.iterdir()] == ["secret_key"]  # no temporary left
