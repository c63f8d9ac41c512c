"""Fuzzing the live server: hostile and odd requests never get a 5xx or an undocumented error.

``connector serve`` runs on a fresh database of each backend (loopback only);
hypothesis generates requests to SCIM (with a SCIM token) and to the admin API
(with an admin token) from tests/support/fuzz_requests.py, the same generators
``bench/fuzz.py`` sends by the ten thousand. Every answer must be below 500 and
every error in its path's documented shape; afterwards /healthz, the listings
and the resync job must still work. The run is bounded: ``EXAMPLES`` requests
per backend (about half a minute each), every request with a timeout.

The examples are the same on every run (derandomised), so the suite stays
reproducible; set ``CONNECTOR_FUZZ_SEED`` to explore other ones, or run
``bench/fuzz.py`` for a long run.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.support import fuzz_requests as fuzz

EXAMPLES = int(os.environ.get("CONNECTOR_FUZZ_EXAMPLES", "1500"))
SEED = os.environ.get("CONNECTOR_FUZZ_SEED")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_fuzzed_requests_get_no_5xx_and_documented_errors(backend: str) -> None:
    with fuzz.fuzz_target(backend) as (server, sender):
        targets = fuzz.seed(sender)
        figures = fuzz.Figures()

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=SEED is None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(fuzz.fuzz_requests(targets))
        def send(request: fuzz.FuzzRequest) -> None:
            figures.record(request, sender.send(request))

        if SEED is not None:
            send = seed(int(SEED))(send)
        send()
        checks = fuzz.post_checks(sender)
        log = server.log_tail(40)

    report = [
        f"{len(examples)} x {kind}\n      " + "\n      ".join(examples[:3])
        for kind, examples in sorted(figures.failures.items(), key=lambda kv: -len(kv[1]))
    ]
    assert figures.sent >= EXAMPLES // 2, figures.sent
    assert not figures.failures, "\n".join(report) + "\nserver log:\n" + log
    assert figures.slow == 0 and figures.max_seconds < fuzz.SLOW_SECONDS
    broken = {name: result for name, result in checks.items() if not result.startswith("ok")}
    assert not broken, f"{broken}\nserver log:\n{log}"
