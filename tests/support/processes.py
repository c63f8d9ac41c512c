"""Helpers for the child processes tests start (slapd, the live server)."""

from __future__ import annotations

import subprocess


def stop_process(
    proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None, timeout: float
) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL; a no-op for None or a finished one."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
