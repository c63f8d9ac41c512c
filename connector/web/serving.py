"""``connector serve``'s web server: waitress with the connector's body limit and error shapes.

waitress reads a request's whole body before it calls the application, so a
body-size check inside the app comes too late for a client that declares 50 MB
and sends one byte: the request would hang until the connection times out.
waitress itself refuses a declared ``Content-Length`` over its
``max_request_body_size`` as soon as the headers are in; here that limit is the
connector's ``server.max_body_bytes``, and waitress's own refusals (413, 400 for
a malformed request, 431) are answered in the shape the path calls for
(connector/web/error_shapes.py) instead of waitress's plain text.
"""

from __future__ import annotations

from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from connector.web.error_shapes import error_bytes, too_large_message


class ShapedErrorTask(ErrorTask):  # type: ignore[misc]
    """waitress's early refusal, with a body in the path's error shape."""

    def execute(self) -> None:
        error = self.request.error
        path = str(getattr(self.request, "path", "") or "/")
        code = str(error.reason).lower().replace(" ", "_")
        message = str(error.body)
        if error.code == 413:
            limit = self.channel.server.adj.max_request_body_size - 1
            message = too_large_message(limit)
        body, content_type = error_bytes(path, int(error.code), message, code)
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", content_type))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class ShapedChannel(HTTPChannel):  # type: ignore[misc]
    error_task_class = ShapedErrorTask


def serve(app: Any, *, host: str, port: int, max_body_bytes: int, threads: int = 8) -> None:
    """Serve ``app`` until interrupted; bodies over ``max_body_bytes`` are refused unread."""
    sockets: dict[int, Any] = {}
    server = create_server(
        app,
        map=sockets,
        host=host,
        port=port,
        threads=threads,
        ident="connector",
        # waitress refuses a length >= this value; the connector allows max_body_bytes.
        max_request_body_size=max_body_bytes + 1,
    )
    for listener in list(sockets.values()):
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = ShapedChannel
    server.run()
