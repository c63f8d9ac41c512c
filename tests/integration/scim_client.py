"""A small SCIM client for tests: sends what identity providers send, checks the answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

SCIM_JSON = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class ScimClient:
    def __init__(self, client: FlaskClient, token: str, prefix: str = "/scim/v2") -> None:
        self.client = client
        self.token = token
        self.prefix = prefix

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        expect: int | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> Any:
        response = self.client.open(
            f"{self.prefix}{path}",
            method=method,
            data=None if body is None else json.dumps(body),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": SCIM_JSON,
                **(headers or {}),
            },
            query_string=params or None,
        )
        if expect is not None:
            assert response.status_code == expect, (response.status_code, response.get_data(True))
        if response.status_code not in (204, 304):
            assert response.headers["Content-Type"].startswith(SCIM_JSON), response.headers
        self.last = response
        text = response.get_data(as_text=True)
        return json.loads(text) if text else None

    def get(self, path: str, expect: int = 200, **params: Any) -> Any:
        return self.call("GET", path, expect=expect, **params)

    def post(self, path: str, body: Any, expect: int = 201, **kw: Any) -> Any:
        return self.call("POST", path, body, expect=expect, **kw)

    def put(self, path: str, body: Any, expect: int = 200, **kw: Any) -> Any:
        return self.call("PUT", path, body, expect=expect, **kw)

    def patch(
        self, path: str, operations: list[dict[str, Any]], expect: int = 200, **kw: Any
    ) -> Any:
        return self.call(
            "PATCH", path, {"schemas": [PATCH_OP], "Operations": operations}, expect=expect, **kw
        )

    def delete(self, path: str, expect: int = 204, **kw: Any) -> Any:
        return self.call("DELETE", path, expect=expect, **kw)


def in_threads(work: Callable[[int], None], workers: int = 4) -> None:
    """Run ``work(0)`` … ``work(workers - 1)`` at once, each in its own thread (each
    making its own client), and fail with every assertion a thread failed."""
    errors: list[AssertionError] = []

    def run(worker: int) -> None:
        try:
            work(worker)
        except AssertionError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
