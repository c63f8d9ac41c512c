"""SCIM 2.0 conformance of the real server, judged by two independent checkers.

The suite starts ``connector serve`` (tests/support/live_server.py: a fresh
embedded SQLite database, a free port on 127.0.0.1, a SCIM token for the source
"conformance") and runs against ``{base_url}/scim/v2``:

* scim2-tester (PyPI, by Yaal Coop): in process, ``scim2_tester.check_server``
  over a ``scim2_client.engines.httpx2.SyncSCIMClient``. Statuses ERROR and
  CRITICAL are failures (RFC MUST / MUST NOT); DEVIATION (a SHOULD) is reported
  as a warning.
* scim-sanity (PyPI): its CLI, ``python -m scim_sanity probe URL --token T
  --i-accept-side-effects --json-output`` in strict mode. Statuses "fail" and
  "error" are failures; "warn" is reported as a warning.

Each checker gets a server of its own, so what one leaves behind cannot change
what the other sees. All traffic goes to 127.0.0.1 only.

Every failing check must be in ``EXCLUSIONS``, and every excluded check must
still fail (a stale exclusion fails the test too, so it gets deleted). An
exclusion is allowed only when the failure is the checker's mistake, and its
text says why, quoting the RFC 7643/7644 section that the server follows.

Check ids, used as the keys of ``EXCLUSIONS``:

* ``scim2-tester::<resource type or "server">::<checker function>[::<subject>]``,
  where the subject is the attribute path of a PATCH check, the HTTP method of
  a discovery-method check, or the schema/resource type a discovery check is
  about. One id may cover several results (all of them are listed on failure).
* ``scim-sanity::<phase>::<test name>``, the phase without its "Phase N —" number.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# `tests` is not an installed package; make `tests.support` importable from
# any checkout, whatever the rootdir/import mode.
_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from tests.support.live_server import LiveServer, live_server  # noqa: E402

# check id -> why the failure is the checker's mistake, quoting RFC 7643/7644.
# Empty on purpose: entries are added only after analysing a real failure.
_DISPLAY_IS_READ_ONLY = (
    "The checker PATCHes group members without 'display' and expects them back "
    "exactly as sent; the server fills in each member's display name. RFC 7643 "
    'Section 4.2 defines members.display as "A human-readable name, primarily used '
    'for display purposes.  READ-ONLY.", and Section 7 says of readOnly: "The '
    "attribute SHALL NOT be modified.\" - the value is the server's to set, so it "
    "may differ from what the client sent."
)
EXCLUSIONS: dict[str, str] = {
    "scim2-tester::Group::check_add_attribute::members": _DISPLAY_IS_READ_ONLY,
    "scim2-tester::Group::check_replace_attribute::members": _DISPLAY_IS_READ_ONLY,
    "scim-sanity::Group CRUD Lifecycle::PATCH /Groups/{id} add member": (
        'The checker adds a member whose value is the made-up id "fake-member-id" and '
        "expects 200; the server answers 400 invalidValue because no such user or group "
        'exists. RFC 7643 Section 4.2 defines the members "value" sub-attribute as '
        '"Identifier of the member of this Group", i.e. the "id" of an existing SCIM '
        'resource, and RFC 7644 Section 3.12 gives invalidValue for a value that "was '
        'not compatible with the operation or attribute type ... or resource schema". '
        "Accepting it would leave a dangling member no client can ever resolve."
    ),
}

SCIM2_TESTER = "scim2-tester"
SCIM_SANITY = "scim-sanity"
CHECKERS = (SCIM2_TESTER, SCIM_SANITY)

# Seconds a whole checker run may take against the local server (each run is
# a few seconds; a hang must not stall CI), and one request's time-out.
CHECKER_TIMEOUT = 45.0
REQUEST_TIMEOUT = 10

INSTALL_HINT = (
    "the SCIM conformance checkers are missing; install the test extras "
    "(`pip install -e '.[test]'`: scim2-tester[httpx2] and scim-sanity)"
)

FAILED = "failed"
WARNING = "warning"
PASSED = "passed"
SKIPPED = "skipped"


@dataclass(frozen=True)
class Finding:
    """One result of one check, in a shape common to both checkers."""

    check_id: str
    outcome: str  # FAILED, WARNING, PASSED or SKIPPED
    status: str  # the checker's own status word
    message: str


# -- scim2-tester ---------------------------------------------------------------

_TESTER_OUTCOME = {
    "SUCCESS": PASSED,
    "COMPLIANT": PASSED,
    "ACCEPTABLE": PASSED,
    "DEVIATION": WARNING,
    "ERROR": FAILED,
    "CRITICAL": FAILED,
    "SKIPPED": SKIPPED,
}
_METHOD_REASON = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) /")
_RESOURCE_TYPE_REASON = re.compile(r"^ResourceType '([^']+)' schema")
_SCHEMA_REASON = re.compile(
    r"^(?:Successfully accessed schema: |Failed to access schema )(\S+?):?(?:\s|$)"
)
_ATTRIBUTE_REASON = re.compile(r": (requested|excluded) attribute '([^']+)'")


def _tester_subject(result: Any) -> str | None:
    data, reason = result.data, result.reason or ""
    if isinstance(data, dict) and isinstance(data.get("urn"), str):
        return str(data["urn"])
    for pattern in (_METHOD_REASON, _RESOURCE_TYPE_REASON, _SCHEMA_REASON):
        match = pattern.search(reason)
        if match:
            return match.group(1)
    match = _ATTRIBUTE_REASON.search(reason)
    if match:
        return f"{match.group(1)}={match.group(2)}"
    return None


def _describe_data(data: Any, limit: int = 400) -> str:
    """A short, readable form of the debugging data a scim2-tester result carries."""
    if data is None:
        return ""
    status = getattr(data, "status_code", None)
    text = getattr(data, "text", None)
    if isinstance(status, int) and isinstance(text, str):
        shown = f"HTTP {status}: {text}"
    elif hasattr(data, "model_dump"):
        try:
            shown = json.dumps(data.model_dump(exclude_none=True), default=str)
        except Exception:  # a model that cannot dump itself is still worth showing
            shown = repr(data)
    else:
        shown = repr(data)
    return shown if len(shown) <= limit else shown[:limit] + "…"


def run_scim2_tester(scim_url: str, token: str) -> list[Finding]:
    try:
        import httpx2
        from scim2_client.engines.httpx2 import SyncSCIMClient
        from scim2_tester import check_server
    except ImportError as exc:
        pytest.fail(f"{INSTALL_HINT} ({exc})", pytrace=False)

    # pytest turns warnings into errors here; inside the checker that would turn
    # a library's DeprecationWarning into a failed check blamed on the server.
    # Record them instead and list them with the warnings.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with httpx2.Client(
            base_url=scim_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=REQUEST_TIMEOUT,
            trust_env=False,  # loopback only: never a proxy from the environment
        ) as http:
            results = _in_thread(lambda: check_server(SyncSCIMClient(http)), SCIM2_TESTER)

    findings = [
        Finding(
            check_id=f"{SCIM2_TESTER}::python::warning",
            outcome=WARNING,
            status=w.category.__name__,
            message=f"{w.message} ({w.filename}:{w.lineno})",
        )
        for w in caught
    ]
    for result in results:
        parts = [SCIM2_TESTER, result.resource_type or "server", result.title or "?"]
        subject = _tester_subject(result)
        if subject:
            parts.append(subject)
        message = (result.reason or "").strip()
        if _TESTER_OUTCOME[result.status.name] != PASSED:
            detail = _describe_data(result.data)
            if detail and detail not in message:
                message = f"{message}\n{detail}" if message else detail
        findings.append(
            Finding(
                check_id="::".join(parts),
                outcome=_TESTER_OUTCOME[result.status.name],
                status=result.status.name,
                message=message,
            )
        )
    return findings


def _in_thread(run: Callable[[], Any], name: str) -> Any:
    """Run ``run`` with a time limit; on time-out fail (the server's stop ends the thread)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = run()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    thread.join(CHECKER_TIMEOUT)
    if thread.is_alive():
        pytest.fail(f"{name} did not finish within {CHECKER_TIMEOUT:.0f} s", pytrace=False)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# -- scim-sanity ------------------------------------------------------------------

_SANITY_OUTCOME = {
    "pass": PASSED,
    "warn": WARNING,
    "fail": FAILED,
    "error": FAILED,
    "skip": SKIPPED,
}
_PHASE_NUMBER = re.compile(r"^Phase\s+\w+\s+\W\s+")
_CLEANUP_DELETE = re.compile(r"^(DELETE /\w+)/\S+$")


def run_scim_sanity(scim_url: str, token: str) -> list[Finding]:
    cmd = [
        sys.executable,
        "-m",
        "scim_sanity",
        "probe",
        scim_url,
        "--token",
        token,
        "--i-accept-side-effects",
        "--json-output",
        "--strict",
        "--timeout",
        str(REQUEST_TIMEOUT),
    ]
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    try:
        done = subprocess.run(
            cmd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CHECKER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{SCIM_SANITY} did not finish within {CHECKER_TIMEOUT:.0f} s", pytrace=False)
    if "No module named scim_sanity" in done.stderr:
        pytest.fail(f"{INSTALL_HINT} ({done.stderr.strip()})", pytrace=False)
    # Exit code 1 only says that something failed; the JSON says what.
    try:
        report = json.loads(done.stdout)
        results = report["results"]
    except (ValueError, KeyError, TypeError):
        pytest.fail(
            f"{SCIM_SANITY} exited {done.returncode} without its JSON report\n"
            f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-2000:]}",
            pytrace=False,
        )
    findings = []
    for result in results:
        phase = _PHASE_NUMBER.sub("", result.get("phase") or "")
        name = result.get("name") or "?"
        if phase == "Cleanup":
            name = _CLEANUP_DELETE.sub(r"\1/{id}", name)
        findings.append(
            Finding(
                check_id=f"{SCIM_SANITY}::{phase}::{name}",
                outcome=_SANITY_OUTCOME.get(result.get("status"), FAILED),
                status=str(result.get("status")),
                message=str(result.get("message") or ""),
            )
        )
    return findings


RUNNERS: dict[str, Callable[[str, str], list[Finding]]] = {
    SCIM2_TESTER: run_scim2_tester,
    SCIM_SANITY: run_scim_sanity,
}

# Checks that must have run (not skipped) for a run to prove anything. scim2-tester
# runs its per-resource checks (CRUD, attributes, PATCH) only once
# /ServiceProviderConfig, /ResourceTypes and /Schemas parse; without this a
# discovery failure excused in EXCLUSIONS would silently skip all of them.
MUST_RUN = {
    SCIM2_TESTER: (
        "scim2-tester::server::service_provider_config_endpoint",
        "scim2-tester::User::object_creation",
    ),
    SCIM_SANITY: (
        "scim-sanity::Discovery::GET /ServiceProviderConfig",
        "scim-sanity::User CRUD Lifecycle::POST /Users",
    ),
}


def missing_checks(checker: str, findings: list[Finding]) -> list[str]:
    ran = {f.check_id for f in findings if f.outcome != SKIPPED}
    return [check_id for check_id in MUST_RUN[checker] if check_id not in ran]


# -- the report -----------------------------------------------------------------


def _indent(text: str, prefix: str = "      ") -> str:
    if not text:
        return prefix + "(no message)"
    return "\n".join(prefix + line for line in text.splitlines())


def _list(findings: list[Finding]) -> str:
    return "\n".join(f"  - {f.check_id}  [{f.status}]\n{_indent(f.message)}" for f in findings)


def render_report(
    checker: str,
    findings: list[Finding],
    unexpected: list[Finding],
    stale: list[str],
    missing: list[str],
    seconds: float,
) -> str:
    counts = {o: sum(f.outcome == o for f in findings) for o in (PASSED, FAILED, WARNING, SKIPPED)}
    lines = [
        f"{checker}: {len(findings)} results in {seconds:.1f} s — "
        + ", ".join(f"{n} {o}" for o, n in counts.items()),
    ]
    if unexpected:
        lines += [
            f"\n{len(unexpected)} failing checks are not in EXCLUSIONS (fix the server, or "
            "document the checker's mistake in EXCLUSIONS with the RFC text):",
            _list(unexpected),
        ]
    if missing:
        lines += [
            f"\n{checker} did not run these checks, so the run proves too little "
            "(an earlier failure, usually discovery, stopped it):",
            *(f"  - {check_id}" for check_id in missing),
        ]
    if stale:
        lines += [
            f"\n{len(stale)} exclusions no longer fail; delete them from EXCLUSIONS:",
            *(f"  - {check_id}" for check_id in stale),
        ]
    warnings = [f for f in findings if f.outcome == WARNING]
    if warnings:
        lines += ["\nWarnings (SHOULD level; they do not fail the test):", _list(warnings)]
    excused = [f for f in findings if f.outcome == FAILED and f.check_id in EXCLUSIONS]
    if excused:
        lines += ["\nExcluded failures (the checker's mistake, see EXCLUSIONS):", _list(excused)]
    return "\n".join(lines)


# -- tests --------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[LiveServer]:
    """A fresh `connector serve` (own SQLite database) for one checker run."""
    with live_server(source="conformance") as running:
        yield running


@pytest.mark.parametrize("checker", CHECKERS)
def test_scim_conformance(checker: str, server: LiveServer) -> None:
    began = time.monotonic()
    findings = RUNNERS[checker](server.scim_url, server.token or "")
    seconds = time.monotonic() - began

    failed = [f for f in findings if f.outcome == FAILED]
    failed_ids = {f.check_id for f in failed}
    unexpected = [f for f in failed if f.check_id not in EXCLUSIONS]
    stale = sorted(
        check_id
        for check_id in EXCLUSIONS
        if check_id.startswith(f"{checker}::") and check_id not in failed_ids
    )
    missing = missing_checks(checker, findings)
    report = render_report(checker, findings, unexpected, stale, missing, seconds)

    if unexpected or stale or missing:
        pytest.fail(f"{report}\n\nServer log (last lines):\n{server.log_tail()}", pytrace=False)
    print(report)  # the warnings and excused failures, shown with `pytest -rP`


def test_exclusions_are_documented() -> None:
    """Each exclusion names a known checker and quotes the RFC section it relies on."""
    problems = []
    for check_id, why in EXCLUSIONS.items():
        if not check_id.startswith(tuple(f"{c}::" for c in CHECKERS)):
            problems.append(f"{check_id}: the id does not start with a checker name")
        if not re.search(r"RFC ?764[34]", why) or not re.search(r"(?:Section|§) ?\d", why):
            problems.append(f"{check_id}: the reason does not cite an RFC 7643/7644 section")
        if '"' not in why:
            problems.append(f"{check_id}: the reason quotes no RFC text")
    assert not problems, "\n".join(problems)
