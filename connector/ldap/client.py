"""A small ldap3 client: failover, retry with backoff, timeouts, paged reads.

Why not ldap3's own paged_search generator: it hides which page failed and
how. Here every page's result code is checked; anything but success ends the
read with :class:`SearchAborted`, so callers never mistake a cut-short read for
a complete one (the deletion rules depend on that).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

with warnings.catch_warnings():
    # ldap3 2.9.1 (its latest release) reads pyasn1's tagMap/typeMap, which newer
    # pyasn1 releases deprecate: the warnings concern ldap3, not this connector, and
    # would otherwise be printed by every process that imports it.
    warnings.filterwarnings("ignore", message=r"(tagMap|typeMap) is deprecated")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="pyasn1")
    import ldap3
    from ldap3.core.exceptions import LDAPException, LDAPInvalidCredentialsResult

from connector.ldap import fast_import
from connector.ldap.entries import Entry
from connector.ldap.fast_import import ber, ldap3_receive
from connector.ldap.filters import escape
from connector.ldap.quirks import ad
from connector.ldap.settings import LdapSourceConfig

log = logging.getLogger(__name__)

PAGED_RESULTS = "1.2.840.113556.1.4.319"
SCOPES = {"subtree": ldap3.SUBTREE, "onelevel": ldap3.LEVEL, "base": ldap3.BASE}
# Result codes worth another server or another try: busy, unavailable, unwillingToPerform.
TRANSIENT_CODES = {51, 52, 53}
ID_CHUNK = 100


class LdapUnavailable(Exception):
    """No server of the source could be reached and bound to."""


class SearchAborted(Exception):
    """A read ended early (connection lost, limit hit, a page refused, timed out)."""


class LdapClient:
    """Connections to one source; ``close()`` (or ``with``) releases them."""

    def __init__(
        self,
        cfg: LdapSourceConfig,
        *,
        deadline: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        password: str | None = None,
    ) -> None:
        self.cfg = cfg
        # Given when resolved elsewhere (a reader process gets it from its parent).
        self._password = password
        self.deadline = deadline or (time.monotonic() + cfg.timeouts.run)
        self._sleep = sleep
        self._main: ldap3.Connection | None = None
        self._side: ldap3.Connection | None = None
        self.url: str | None = None
        self.server_id = ""

    def __enter__(self) -> LdapClient:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connections ---------------------------------------------------------------

    def _tls(self) -> ldap3.Tls:
        if not self.cfg.verify:
            return ldap3.Tls(validate=ssl.CERT_NONE)
        ca = str(self.cfg.ca_file) if self.cfg.ca_file else None
        return ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca)

    def _open(self, url: str, password: str) -> ldap3.Connection:
        server = ldap3.Server(
            url,
            use_ssl=url.lower().startswith("ldaps://"),
            tls=self._tls(),
            get_info=ldap3.NONE,
            connect_timeout=self.cfg.timeouts.connect,
        )
        conn = ldap3.Connection(
            server,
            user=self.cfg.bind_dn or None,
            password=password or None,
            auto_bind=ldap3.AUTO_BIND_NONE,
            receive_timeout=max(1, round(self.cfg.timeouts.receive)),  # ldap3 packs an int
            read_only=True,
            raise_exceptions=False,
            return_empty_attributes=False,
        )
        try:
            conn.open()
            if self.cfg.start_tls and not conn.start_tls():
                raise LDAPException(f"StartTLS refused: {conn.result.get('description')}")
            if not conn.bind():
                code = conn.result.get("result")
                if code == 49:
                    raise LDAPInvalidCredentialsResult(
                        f"bind as {self.cfg.bind_dn!r} refused: invalid credentials"
                    )
                raise LDAPException(f"bind failed: {conn.result.get('description')}")
        except BaseException:
            _close(conn)
            raise
        # Each search empties conn.diverted first and takes what it collected: on the
        # fast path, the search entries read from their bytes (see ldap3_receive).
        if fast_import.enabled(self.cfg):
            ldap3_receive.divert_search_entries(conn)
        else:
            conn.diverted = []  # type: ignore[attr-defined]
        return conn

    def connect(self) -> None:
        """Bind to the first URL that answers, in order; retry the list with backoff."""
        password = self._bind_password()
        failures: list[str] = []
        for attempt in range(self.cfg.retries + 1):
            for url in self.cfg.urls:
                try:
                    self._main = self._open(url, password)
                except LDAPInvalidCredentialsResult as exc:
                    raise LdapUnavailable(f"{url}: {exc}") from exc
                except (LDAPException, OSError) as exc:
                    failures.append(f"{url}: {type(exc).__name__}: {exc}")
                    log.warning("LDAP source %s: %s unavailable: %s", self.cfg.name, url, exc)
                    continue
                self.url = url
                self.server_id = self._identity(url)
                return
            if attempt < self.cfg.retries:
                self._sleep(min(30.0, 0.5 * 2**attempt))
        raise LdapUnavailable("; ".join(failures[-len(self.cfg.urls) :]))

    def _bind_password(self) -> str:
        return self._password if self._password is not None else self.cfg.password()

    def _identity(self, url: str) -> str:
        """Which server the watermark belongs to (matters for AD's per-DC uSNChanged)."""
        if self.cfg.change_attribute != "uSNChanged" or self._main is None:
            return url
        conn = self._main
        conn.diverted.clear()  # type: ignore[attr-defined]
        ok = conn.search(
            "", "(objectClass=*)", ldap3.BASE, attributes=["dsServiceName", "dnsHostName"]
        )
        found = _collect(conn)
        if not ok or not found:
            return url
        root = {k: [v.decode("utf-8", "replace") for v in vs] for k, vs in found[0].raw.items()}
        return ad.server_identity(root, url)

    def _side_connection(self) -> ldap3.Connection:
        """A second connection to the same server, for reads during a paged search."""
        if self._side is None:
            assert self.url is not None
            try:
                self._side = self._open(self.url, self._bind_password())
            except (LDAPException, OSError) as exc:
                raise SearchAborted(f"{self.url}: second connection failed: {exc}") from exc
        return self._side

    def close(self) -> None:
        for conn in (self._main, self._side):
            if conn is not None:
                _close(conn)
        self._main = self._side = None

    # -- reads ---------------------------------------------------------------------

    def _check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise SearchAborted(f"the run took longer than {self.cfg.timeouts.run:.0f}s")

    def _search(
        self, conn: ldap3.Connection, search_filter: str, attrs: list[str], **kw: Any
    ) -> list[Entry]:
        """One search request; a busy/unavailable answer is retried with backoff."""
        for attempt in range(self.cfg.retries + 1):
            conn.diverted.clear()  # type: ignore[attr-defined]
            try:
                conn.search(
                    self.cfg.base_dn,
                    search_filter,
                    SCOPES[self.cfg.scope],
                    attributes=attrs,
                    dereference_aliases=ldap3.DEREF_NEVER,
                    **kw,
                )
            except (LDAPException, OSError, ber.MalformedMessage) as exc:
                raise SearchAborted(f"{self.url}: {type(exc).__name__}: {exc}") from exc
            if conn.result.get("result") not in TRANSIENT_CODES or attempt == self.cfg.retries:
                break
            self._sleep(min(30.0, 0.5 * 2**attempt))
            self._check_time()
        code = conn.result.get("result")
        if code == 32 and not kw.get("paged_cookie"):  # noSuchObject: the base is gone
            raise SearchAborted(f"base DN {self.cfg.base_dn!r} does not exist on {self.url}")
        if code != 0:
            raise SearchAborted(
                f"{self.url}: search ended with {conn.result.get('description')} ({code})"
            )
        return _collect(conn)

    def pages(self, search_filter: str, attributes: list[str]) -> Iterator[list[Entry]]:
        """Every entry under the base that matches, one list per page."""
        if self._main is None:
            raise SearchAborted("not connected")
        cookie: bytes | None = None
        while True:
            self._check_time()
            response = self._search(
                self._main,
                search_filter,
                attributes,
                paged_size=self.cfg.page_size,
                paged_cookie=cookie,
            )
            yield response
            control = (self._main.result.get("controls") or {}).get(PAGED_RESULTS)
            cookie = control["value"]["cookie"] if control else None
            if not cookie:
                return

    def by_ids(self, ids: list[str], attributes: list[str]) -> list[Entry]:
        """Full entries for these ids (in scope and matching the filter), on a side connection."""
        conn = self._side_connection()
        found: list[Entry] = []
        for start in range(0, len(ids), ID_CHUNK):
            self._check_time()
            chunk = ids[start : start + ID_CHUNK]
            terms = "".join(f"({self.cfg.id_attribute}={self._id_value(i)})" for i in chunk)
            found += self._search(conn, f"(&{self.cfg.filter}(|{terms}))", attributes)
        return found

    def _id_value(self, key: str) -> str:
        if self.cfg.id_attribute == "objectGUID":
            return ad.guid_filter_value(key)
        return escape(key)


def _collect(conn: ldap3.Connection) -> list[Entry]:
    """The last search's entries: those read from their bytes (fast path), then those
    ldap3 decoded itself (all of them on the plain path; ranged attributes always)."""
    diverted: list[tuple[str, dict[str, list[bytes]]]] = conn.diverted  # type: ignore[attr-defined]
    found = [Entry(dn, raw) for dn, raw in diverted]
    diverted.clear()
    found += [
        Entry(item["dn"], {k.lower(): list(v) for k, v in item["raw_attributes"].items()})
        for item in conn.response or []
        if item.get("type") == "searchResEntry"
    ]
    return found


def _close(conn: ldap3.Connection) -> None:
    """Unbind, and close the socket even when ldap3 leaves it open after a failure."""
    with contextlib.suppress(Exception):
        conn.unbind()
    sock = getattr(conn, "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()
