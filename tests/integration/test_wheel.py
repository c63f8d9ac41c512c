"""The wheel, installed into a clean virtual environment, works from any directory.

This is also how the container's commands are tested here (there is no container
daemon on the build machines): deploy/Dockerfile builds the same wheel and
installs it the same way, then runs ``connector db upgrade``, ``connector serve``
and ``connector worker`` (see deploy/README.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtual environment with nothing but the wheel and its dependencies; its bin/."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # build from a copy: the checkout gets no build/ or egg-info
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("connector", "scim"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    dist = work / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(dist), str(source)], check=True)
    wheel = next(dist.glob("ldap_scim_connector-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    venv_pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*venv_pip, "install", str(wheel)], check=True)
    yield venv / "bin"


def clean_env(tmp: Path) -> dict[str, str]:
    """No CONNECTOR_* of the test session, no PYTHONPATH pointing at the checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONNECTOR_", "PYTHON", "PROMETHEUS_"))
    }
    env["CONNECTOR_DATA_DIR"] = str(tmp / "data")
    return env


def test_config_check_and_python_m_connector_from_another_directory(
    installed: Path, tmp_path: Path
) -> None:
    env = clean_env(tmp_path)
    for command in (
        [str(installed / "connector"), "config", "check"],
        [str(installed / "python"), "-m", "connector", "config", "check"],
    ):
        result = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert "configuration OK" in result.stdout
        assert "contact fields (built in)" in result.stdout
    # The code comes from the environment, not from the checkout.
    where = subprocess.run(
        [str(installed / "python"), "-c", "import connector; print(connector.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(ROOT) not in where and str(installed.parent) in where


def test_serve_answers_from_another_directory(installed: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(installed / "connector"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 45
        while True:
            assert server.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "connector serve did not answer /healthz"
            time.sleep(0.2)
        for path in ("/metrics", "/api/v1/openapi.json"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                assert r.status == 200
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
