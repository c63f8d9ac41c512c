"""The real ``connector serve`` in a subprocess, on a free loopback port, for a test.

Why: conformance checkers such as scim2-tester and scim-sanity talk HTTP to a
base URL, and what they must judge is the server as deployed (waitress, the
WSGI stack, content types, status codes), not a Flask test client. So the
helper starts ``python -m connector.cli serve`` with a throw-away data folder
(embedded SQLite unless a database URL is given), waits for ``/healthz``,
creates a SCIM bearer token for one source with ``connector token create``,
and stops the server again at the end.

Usage::

    with live_server() as server:
        base_url, token = server          # http://127.0.0.1:PORT, the secret
        ...                               # server.scim_url, server.log_tail()

Every wait is bounded: the server has ``START_TIMEOUT`` seconds to answer
``/healthz``, the token command ``TOKEN_TIMEOUT``, and stopping is SIGTERM,
then SIGKILL after ``STOP_TIMEOUT``. The server only listens on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.support.processes import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
START_TIMEOUT = 30.0
TOKEN_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
PORT_ATTEMPTS = 3
SCIM_PREFIX = "/scim/v2"

_PR_SET_PDEATHSIG = 1
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class LiveServerError(RuntimeError):
    """The server did not come up, or the token could not be created."""


def free_port() -> int:
    """Ask the kernel for a free loopback port (the server may still lose a race for it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: have the kernel SIGTERM the server if the test process dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def server_env(
    data_dir: Path,
    *,
    database_url: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for the server and the CLI: isolated from the caller's settings.

    Every ``CONNECTOR_*`` variable of the caller is dropped, so a developer's own
    database or config file is never touched; ``CONNECTOR_CONFIG`` names an empty
    file so ``config/connector.toml`` of the work tree is not read either. Proxy
    variables are dropped: the traffic is loopback only.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CONNECTOR_") and k.lower() not in _PROXY_VARIABLES
    }
    config = data_dir / "connector.toml"
    if not config.exists():
        config.write_text("# empty: everything comes from the environment\n")
    env["CONNECTOR_CONFIG"] = str(config)
    env["CONNECTOR_DATA_DIR"] = str(data_dir / "data")
    if database_url:
        env["CONNECTOR_DATABASE_URL"] = database_url
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    if extra:
        env.update(extra)
    return env


class LiveServer:
    """A running ``connector serve``; unpacks as ``(base_url, token)``."""

    def __init__(
        self,
        *,
        database_url: str | None = None,
        source: str = "conformance",
        extra_env: Mapping[str, str] | None = None,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.database_url = database_url
        self.source = source
        self.start_timeout = start_timeout
        self._extra_env = dict(extra_env or {})
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.root: Path | None = None
        self.port: int | None = None
        self.token: str | None = None
        self.startup_seconds: float | None = None

    # -- facts ----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise LiveServerError("the server is not running")
        return f"http://{HOST}:{self.port}"

    @property
    def scim_url(self) -> str:
        """The SCIM 2.0 base URL (no trailing slash)."""
        return self.base_url + SCIM_PREFIX

    @property
    def log_path(self) -> Path:
        if self.root is None:
            raise LiveServerError("the server was not started")
        return self.root / "server.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __iter__(self) -> Iterator[str]:
        if self.token is None:
            raise LiveServerError("the server is not running")
        return iter((self.base_url, self.token))

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's stdout+stderr, for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except (OSError, LiveServerError):
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    @property
    def env(self) -> dict[str, str]:
        if self.root is None:
            raise LiveServerError("the server was not started")
        return server_env(self.root, database_url=self.database_url, extra=self._extra_env)

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> LiveServer:
        if self._proc is not None:
            raise LiveServerError("already started")
        began = time.monotonic()
        self._tmp = tempfile.TemporaryDirectory(prefix="test-connector-")
        self.root = Path(self._tmp.name)
        try:
            last: LiveServerError | None = None
            for _ in range(PORT_ATTEMPTS):
                try:
                    self._launch(free_port())
                    break
                except _PortInUseError as exc:
                    last = exc
            else:
                raise last or LiveServerError("the server did not start")
            self.token = self.create_token(self.source)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def create_token(self, source: str) -> str:
        """Create a SCIM token for ``source`` with the real CLI; return the secret."""
        cmd = [sys.executable, "-m", "connector.cli", "token", "create", "--source", source]
        try:
            done = subprocess.run(
                cmd,
                env=self.env,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=TOKEN_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LiveServerError(f"`{' '.join(cmd[1:])}` took over {TOKEN_TIMEOUT:.0f} s") from exc
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            raise LiveServerError(
                f"`{' '.join(cmd[1:])}` exited {done.returncode}\n"
                f"stdout: {done.stdout}\nstderr: {done.stderr}"
            )
        return lines[-1].strip()

    def run_cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``connector ARGS`` against this server's database; raise when it fails."""
        cmd = [sys.executable, "-m", "connector.cli", *args]
        try:
            done = subprocess.run(
                cmd,
                env=self.env,
                cwd=self.root,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=TOKEN_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LiveServerError(f"`{' '.join(args)}` took over {TOKEN_TIMEOUT:.0f} s") from exc
        if done.returncode != 0:
            raise LiveServerError(
                f"`{' '.join(args)}` exited {done.returncode}\n"
                f"stdout: {done.stdout}\nstderr: {done.stderr}"
            )
        return done

    def create_admin(self, name: str, password: str) -> None:
        """Create a console admin account with the real CLI (password on stdin)."""
        self.run_cli("admin", "create", name, "--password-stdin", input=password + "\n")

    def create_admin_token(self, name: str = "e2e") -> str:
        """Create an admin API token with the real CLI; return the secret."""
        done = self.run_cli("token", "create", "--admin", "--name", name)
        return done.stdout.strip().splitlines()[-1].strip()

    def stop(self) -> None:
        """SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL; remove the temp folder.

        Safe to call more than once.
        """
        proc, self._proc = self._proc, None
        stop_process(proc, STOP_TIMEOUT)
        self.port = None
        tmp, self._tmp = self._tmp, None
        if tmp is not None:
            tmp.cleanup()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------

    def _launch(self, port: int) -> None:
        cmd = [
            sys.executable,
            "-m",
            "connector.cli",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
        ]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(  # preexec_fn only sets PDEATHSIG
                cmd,
                env=self.env,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
                close_fds=True,
            )
        self.port = port
        deadline = time.monotonic() + self.start_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                self._proc = None
                self.port = None
                tail = self.log_tail()
                if "address already in use" in tail.lower():
                    raise _PortInUseError(f"port {port} was taken")
                raise LiveServerError(f"`connector serve` exited with {code}:\n{tail}")
            try:
                with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                    f"http://{HOST}:{port}/healthz", timeout=2
                ) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        tail = self.log_tail()
        raise LiveServerError(
            f"`connector serve` did not answer /healthz within {self.start_timeout:.0f} s "
            f"({last}):\n{tail}"
        )


class _PortInUseError(LiveServerError):
    pass


@contextlib.contextmanager
def live_server(
    *,
    database_url: str | None = None,
    source: str = "conformance",
    extra_env: Mapping[str, str] | None = None,
    start_timeout: float = START_TIMEOUT,
) -> Iterator[LiveServer]:
    """Start the server, yield it (unpacks as ``base_url, token``), stop it."""
    server = LiveServer(
        database_url=database_url,
        source=source,
        extra_env=extra_env,
        start_timeout=start_timeout,
    )
    with server:
        yield server
