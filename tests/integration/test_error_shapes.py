"""Every error under /scim/v2 is a SCIM Error; every other error keeps the admin API's shape.

Routing errors (unknown paths, wrong methods) and an over-size body declared in
``Content-Length`` included; the body-size refusal happens before the body is
read, in the app (any WSGI server) and in ``connector serve`` (waitress).
"""

from __future__ import annotations

import io
import json
import socket
import time
from typing import Any

import pytest
from flask import Flask

from connector.services import tokens
from connector.services.context import Context
from tests.support.live_server import live_server

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
DECLARED = 52_428_800  # 50 MB declared, one byte sent


def _scim_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("application/scim+json")
    body = json.loads(response.get_data(as_text=True))
    assert body["schemas"] == [SCIM_ERROR]
    assert body["status"] == str(status)
    assert body["detail"]
    return body


def _admin_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.get_json()
    assert set(body) <= {"error", "message", "field"} and body["error"] and body["message"]
    return body


@pytest.fixture
def scim_headers(ctx: Context) -> dict[str, str]:
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="idp")
    )
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("DELETE", "/scim/v2/Schemas", 405),
        ("PUT", "/scim/v2/Users", 405),
        ("PATCH", "/scim/v2/Groups", 405),
        ("GET", "/scim/v2/Users/a/b", 404),
        ("GET", "/scim/v2/Unknown", 404),
        ("POST", "/scim/v2/Unknown/.search", 404),
        ("GET", "/scim/v2", 404),
    ],
)
def test_scim_routing_errors_are_scim_errors(
    app: Flask, scim_headers: dict[str, str], method: str, path: str, status: int
) -> None:
    response = app.test_client().open(path, method=method, headers=scim_headers)
    _scim_error(response, status)
    if status == 405:
        assert "GET" in response.headers["Allow"]


def test_admin_routing_errors_keep_the_admin_shape(app: Flask, admin_token: str) -> None:
    client, headers = app.test_client(), {"Authorization": f"Bearer {admin_token}"}
    _admin_error(client.get("/api/v1/nothing-here", headers=headers), 404)
    _admin_error(client.delete("/api/v1/fields", headers=headers), 405)


class _UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body was read although its declared length is over the limit")


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/scim/v2/Users", _scim_error),
        ("/scim/v2/Bulk", _scim_error),
        ("/api/v1/users", _admin_error),
    ],
)
def test_a_declared_oversize_body_is_refused_unread(
    app: Flask, admin_token: str, scim_headers: dict[str, str], path: str, shape: Any
) -> None:
    headers = (
        scim_headers if path.startswith("/scim") else {"Authorization": f"Bearer {admin_token}"}
    )
    response = app.test_client().post(
        path,
        headers={**headers, "Content-Type": "application/json"},
        environ_overrides={"wsgi.input": _UnreadableBody(), "CONTENT_LENGTH": str(DECLARED)},
    )
    body = shape(response, 413)
    assert "limit" in json.dumps(body)


def _raw_post(port: int, path: str, *, timeout: float = 5.0) -> tuple[float, bytes]:
    """Declare a 50 MB body, send one byte, read the answer; bounded by ``timeout``."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {DECLARED}\r\n\r\nx".encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith((b"}", b"]")):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return time.monotonic() - began, answer


def test_connector_serve_refuses_a_declared_oversize_body_at_once() -> None:
    with live_server() as server:
        assert server.port is not None
        for path, content_type, marker in [
            ("/scim/v2/Users", "application/scim+json", SCIM_ERROR),
            ("/api/v1/users", "application/json", '"error": "request_entity_too_large"'),
        ]:
            seconds, answer = _raw_post(server.port, path)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 413"), answer
            assert f"Content-Type: {content_type}".encode() in head, head
            assert marker in body.decode(), body
            assert seconds < 2.0, f"the refusal took {seconds:.1f} s"
