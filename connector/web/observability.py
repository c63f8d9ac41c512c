"""HTTP observability: request ids, the log context of a request, request metrics, /metrics.

Every request gets an id: the caller's ``X-Request-Id`` when it is a plain token
(letters, digits, ``.``, ``_``, ``-``, at most 128), else a new one; it is echoed
in the response's ``X-Request-Id`` and carried by every log line the request
writes (connector.logs). Requests of the SCIM endpoint and the admin API are
counted by route (the URL rule, so ``/scim/v2/Users/<resource_id>``, never a
raw path with ids in it), method, status and duration (connector.metrics).

``GET /metrics`` answers without authentication, like ``/healthz``: it carries
counts and durations, no names or values of users, and operators keep it off
the public ingress (the Kubernetes manifests scrape the pods directly).
"""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, Response, g, request

from connector import logs, metrics
from connector.services import stats
from connector.services.context import Context

REQUEST_ID_HEADER = "X-Request-Id"
_PLAIN_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# Only these parts of the app are counted (what the contract names: SCIM and the admin API).
_APIS = (("/scim/", "scim"), ("/api/", "admin"))
_SCIM_KINDS = frozenset({"Users", "Groups"})


def request_id() -> str:
    """The caller's request id when it is a plain token, else a new one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _PLAIN_ID.fullmatch(given) else uuid.uuid4().hex


def route_label() -> str:
    """The URL rule that answered; SCIM's resource type is filled in (a bounded set),
    so ``/scim/v2/Users/<resource_id>`` and ``.../Groups/...`` count apart."""
    if request.url_rule is None:
        return "<unmatched>"
    rule = request.url_rule.rule
    kind = (request.view_args or {}).get("kind")
    if kind in _SCIM_KINDS:
        rule = rule.replace("<kind>", kind)
    return rule


def _api_of(path: str) -> str | None:
    for prefix, name in _APIS:
        if path.startswith(prefix):
            return name
    return None


def init_app(app: Flask, ctx: Context) -> None:
    """Register the hooks and the /metrics endpoint on ``app``."""

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = request_id()
        g.log_context = logs.enter(request_id=g.request_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id") or request_id()
        api = _api_of(request.path)
        started = g.get("request_started")
        if api is not None and started is not None:
            metrics.http_request(
                api,
                route_label(),
                request.method,
                response.status_code,
                time.perf_counter() - started,
            )
        return response

    @app.teardown_request
    def _leave(_exc: BaseException | None) -> None:
        token = g.pop("log_context", None)
        if token is not None:
            logs.leave(token)

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        text = metrics.exposition(lambda: ctx.run(stats.collect, attempts=1))
        return Response(text, mimetype=None, content_type=metrics.CONTENT_TYPE)
