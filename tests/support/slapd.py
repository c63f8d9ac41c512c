"""A private, throw-away OpenLDAP server for the test session.

Why: the connector's LDAP code relies on server behaviour that mocks do not
reproduce (entryUUID, entryCSN/contextCSN from syncprov, the accesslog, real
schema checks, real bind failures). So the tests run against a real slapd
that lives in a temp folder, listens on a free loopback port only, and is
gone again when the session ends.

The server is configured through its own cn=config, built with
``slapadd -n0`` from a generated LDIF, using Debian's OpenLDAP 2.5 modules in
/usr/lib/ldap. Install them with ``scripts/install-system-deps``.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.processes import stop_process

with warnings.catch_warnings():
    # pyasn1 >= 0.6.1 deprecates tagMap/typeMap, which ldap3 2.9.1 imports. The
    # message ("tagMap is deprecated. Please use TAG_MAP instead.") does not say
    # "pyasn1", so pyproject's filter misses it and pytest would turn it into an
    # error at import time. Ignore exactly that warning, only while importing.
    warnings.filterwarnings(
        "ignore",
        message=r"(tagMap|typeMap) is deprecated",
        category=DeprecationWarning,
    )
    import ldap3
    from ldap3.core.exceptions import LDAPBindError, LDAPCommunicationError
    from ldap3.utils.dn import escape_rdn

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
MODULE_PATH = "/usr/lib/ldap"
SCHEMA_DIR = "/etc/ldap/schema"
SCHEMAS = ("core", "cosine", "nis", "inetorgperson")
INSTALL_HINT = "run scripts/install-system-deps (installs Debian's slapd and ldap-utils)"

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
PORT_ATTEMPTS = 3

_PR_SET_PDEATHSIG = 1


class SlapdError(RuntimeError):
    """slapd is missing, could not be configured, or did not come up."""


def slapd_missing() -> list[str]:
    """Return the needed OpenLDAP programs and folders that are not installed."""
    needed = [SLAPD, SLAPADD, MODULE_PATH, *(f"{SCHEMA_DIR}/{s}.ldif" for s in SCHEMAS)]
    return [p for p in needed if not os.path.exists(p)]


def ssha(password: str) -> str:
    """Hash a password as {SSHA}, like slappasswd, without running slappasswd."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def free_port() -> int:
    """Ask the kernel for a free loopback port.

    There is a small race until slapd binds it; start() retries on a clash.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: have the kernel SIGTERM slapd if the test process dies.

    atexit does not run when pytest is killed by a signal; this still cleans up.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class SlapdServer:
    """One private slapd with suffix dc=example,dc=org, started by start()."""

    base_dn = "dc=example,dc=org"
    admin_dn = "cn=admin,dc=example,dc=org"
    accesslog_dn = "cn=accesslog"
    config_admin_dn = "cn=admin,cn=config"

    def __init__(self, admin_password: str = "admin-secret") -> None:
        self._admin_password = admin_password
        self._root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self.startup_seconds: float | None = None

    # -- public read-only facts -------------------------------------------------

    @property
    def admin_password(self) -> str:
        """The rootdn's clear-text password (stored hashed in cn=config)."""
        return self._admin_password

    @property
    def port(self) -> int:
        """The loopback TCP port slapd listens on."""
        if self._port is None:
            raise SlapdError("slapd is not running")
        return self._port

    @property
    def url(self) -> str:
        """The ldap:// URL of the running server (no trailing slash: ldap3 rejects it)."""
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def root(self) -> Path:
        """The temp folder holding config, data and logs."""
        if self._root is None:
            raise SlapdError("slapd is not running")
        return self._root

    @property
    def running(self) -> bool:
        """True while the slapd process is alive."""
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> SlapdServer:
        """Configure and start slapd; wait until an admin bind works."""
        if self._proc is not None:
            raise SlapdError("slapd already started")
        missing = slapd_missing()
        if missing:
            raise SlapdError(
                f"OpenLDAP is not installed (missing: {', '.join(missing)}); {INSTALL_HINT}"
            )
        began = time.monotonic()
        self._root = Path(tempfile.mkdtemp(prefix="test-slapd-"))
        atexit.register(self.stop)
        try:
            self._configure()
            last_error: SlapdError | None = None
            for _ in range(PORT_ATTEMPTS):
                try:
                    self._launch(free_port())
                    break
                except _PortInUseError as exc:
                    last_error = exc
            else:
                raise last_error or SlapdError("slapd did not start")
            self._add_base()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop slapd (gracefully, then by force) and delete its folder.

        Safe to call more than once; also registered with atexit.
        """
        proc, self._proc = self._proc, None
        stop_process(proc, STOP_TIMEOUT)
        self._port = None
        root, self._root = self._root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
        atexit.unregister(self.stop)

    def __enter__(self) -> SlapdServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for tests ------------------------------------------------------

    def connection(
        self,
        user: str | None = None,
        password: str | None = None,
        *,
        get_info: str = ldap3.NONE,
        **kwargs: Any,
    ) -> ldap3.Connection:
        """Return an ldap3 Connection bound as `user` (admin by default).

        Raises LDAPBindError when the bind is refused, or ldap3's socket errors.
        The caller must unbind() it: an unclosed socket is a ResourceWarning,
        which this suite turns into an error. (ldap3 itself leaks the socket
        when the connect fails; this closes it.)
        """
        if user is None:
            user, password = self.admin_dn, self.admin_password
        server = ldap3.Server("127.0.0.1", port=self.port, get_info=get_info, connect_timeout=5)
        kwargs.setdefault("receive_timeout", 10)
        conn = ldap3.Connection(
            server, user=user, password=password, auto_bind=ldap3.AUTO_BIND_NONE, **kwargs
        )
        try:
            if not conn.bind():
                raise LDAPBindError(f"bind as {user} failed: {conn.result.get('description')}")
        except BaseException:
            _close_quietly(conn)
            raise
        return conn

    def admin_connection(self, **kwargs: Any) -> ldap3.Connection:
        """Return an ldap3 Connection bound as the rootdn; caller unbinds."""
        return self.connection(**kwargs)

    @contextlib.contextmanager
    def admin_session(self, **kwargs: Any) -> Iterator[ldap3.Connection]:
        """Yield an admin-bound Connection and always unbind it afterwards."""
        conn = self.admin_connection(**kwargs)
        try:
            yield conn
        finally:
            conn.unbind()

    def add_ou(self, name: str, parent: str | None = None) -> str:
        """Create ou=<name> under `parent` (the suffix by default); return its DN.

        An OU that already exists is fine, so fixtures can call this freely.
        """
        dn = f"ou={escape_rdn(name)},{parent or self.base_dn}"
        with self.admin_session() as conn:
            if not conn.add(dn, ["organizationalUnit"], {"ou": name}) and (
                conn.result["description"] != "entryAlreadyExists"
            ):
                raise SlapdError(f"cannot add {dn}: {conn.result}")
        return dn

    def log(self) -> str:
        """Return what slapd wrote to stderr so far (for failure messages)."""
        path = self.root / "slapd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- internals --------------------------------------------------------------

    def _config_ldif(self) -> str:
        """The cn=config of this server, as LDIF for slapadd -n0."""
        root = self.root
        pw = ssha(self.admin_password)
        includes = "\n".join(f"include: file://{SCHEMA_DIR}/{s}.ldif" for s in SCHEMAS)
        return f"""\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {root}/slapd.pid
olcArgsFile: {root}/slapd.args
olcToolThreads: 1

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {MODULE_PATH}
olcModuleLoad: {{0}}back_mdb
olcModuleLoad: {{1}}syncprov
olcModuleLoad: {{2}}accesslog

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{includes}

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: unlimited

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcRootDN: {self.config_admin_dn}
olcRootPW: {pw}

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {self.accesslog_dn}
olcDbDirectory: {root}/accesslog
olcDbMaxSize: 268435456
olcRootDN: {self.admin_dn}
olcDbIndex: default eq
olcDbIndex: entryCSN,objectClass,reqEnd,reqResult,reqStart
olcAccess: {{0}}to * by * none

dn: olcOverlay={{0}}syncprov,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {{0}}syncprov
olcSpNoPresent: TRUE
olcSpReloadHint: TRUE

dn: olcDatabase={{2}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{2}}mdb
olcSuffix: {self.base_dn}
olcDbDirectory: {root}/data
olcDbMaxSize: 1073741824
olcRootDN: {self.admin_dn}
olcRootPW: {pw}
olcDbIndex: objectClass eq
olcDbIndex: entryUUID eq
olcDbIndex: entryCSN eq
olcDbIndex: modifyTimestamp eq
olcDbIndex: uid,mail eq
olcDbIndex: cn eq,sub
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by * read

dn: olcOverlay={{0}}syncprov,olcDatabase={{2}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {{0}}syncprov
olcSpCheckpoint: 100 10

dn: olcOverlay={{1}}accesslog,olcDatabase={{2}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcAccessLogConfig
olcOverlay: {{1}}accesslog
olcAccessLogDB: {self.accesslog_dn}
olcAccessLogOps: writes
olcAccessLogSuccess: TRUE
olcAccessLogPurge: 07+00:00 01+00:00
"""

    def _configure(self) -> None:
        """Write the LDIF and load it into a fresh cn=config with slapadd."""
        root = self.root
        for sub in ("slapd.d", "data", "accesslog"):
            (root / sub).mkdir(mode=0o700)
        ldif = root / "config.ldif"
        ldif.write_text(self._config_ldif(), encoding="utf-8")
        result = subprocess.run(
            [SLAPADD, "-n0", "-F", str(root / "slapd.d"), "-l", str(ldif)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            raise SlapdError(
                f"slapadd -n0 failed (exit {result.returncode}) building cn=config:\n"
                f"{result.stdout}{result.stderr}"
            )

    def _add_base(self) -> None:
        """Create the suffix entry, so tests can add OUs right away."""
        with self.admin_session() as conn:
            attrs = {"dc": "example", "o": "Example Org"}
            if not conn.add(self.base_dn, ["dcObject", "organization"], attrs):
                raise SlapdError(f"cannot add {self.base_dn}: {conn.result}")

    def _launch(self, port: int) -> None:
        """Run slapd in the foreground on `port` and wait for a working bind."""
        root = self.root
        log_path = root / "slapd.log"
        url = f"ldap://127.0.0.1:{port}/"
        # -d keeps slapd in the foreground, so we own its pid and its stderr;
        # "none" still logs errors such as a failed listener or bad config.
        cmd = [SLAPD, "-d", "none", "-h", url, "-F", str(root / "slapd.d")]
        with log_path.open("wb") as log:
            self._proc = subprocess.Popen(  # preexec_fn only sets PDEATHSIG
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
                close_fds=True,
            )
        self._port = port
        deadline = time.monotonic() + START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                self._proc = None
                self._port = None
                output = self.log()
                err_cls = _PortInUseError if "Address already in use" in output else SlapdError
                raise err_cls(
                    f"slapd exited with status {code} during startup; "
                    f"command: {' '.join(cmd)}\n--- slapd output ---\n{output}"
                )
            # Probe with a plain socket first: ldap3 leaks its socket when the
            # connect is refused. Once it listens, a refused bind is a real error.
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    pass
            except OSError as exc:
                last = exc
                time.sleep(0.02)
                continue
            try:
                self.connection(receive_timeout=2).unbind()
                return
            except LDAPCommunicationError as exc:
                last = exc  # maybe not slapd on that port: re-check it is alive
        output = self.log()
        proc, self._proc = self._proc, None
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT)
        self._port = None
        raise SlapdError(
            f"slapd did not answer an admin bind within {START_TIMEOUT:.0f}s "
            f"(last error: {last!r}); command: {' '.join(cmd)}\n"
            f"--- slapd output ---\n{output}"
        )


def _close_quietly(conn: ldap3.Connection) -> None:
    """Release a Connection's socket whatever state a failure left it in."""
    with contextlib.suppress(Exception):
        conn.unbind()
    sock = conn.socket
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


class _PortInUseError(SlapdError):
    """The free port was taken before slapd bound it; try another one."""
