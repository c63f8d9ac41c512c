"""Admin API for tokens (/api/v1/tokens): list by name and last use, create, revoke."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from connector.errors import InvalidInput
from connector.services import tokens
from connector.web.auth import require_admin
from connector.web.http import actor, ctx, json_body, refuse_unstorable_request

api_tokens = Blueprint("api_tokens", __name__, url_prefix="/api/v1")
api_tokens.before_request(require_admin)
api_tokens.before_request(refuse_unstorable_request)


@api_tokens.get("/tokens")
def list_tokens() -> Response:
    kind = request.args.get("kind") or None
    if kind not in (None, tokens.ADMIN, tokens.SCIM):
        raise InvalidInput("'kind' must be 'admin' or 'scim'", field="kind")
    return jsonify(ctx().read(lambda s: {"items": tokens.listing(s, kind=kind)}))


@api_tokens.post("/tokens")
def create_token() -> Response:
    """``{"kind": "scim", "source": NAME, "name"?: N}`` or ``{"kind": "admin", "name": N}``."""
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    unknown = set(body) - {"kind", "source", "name"}
    if unknown:
        key = sorted(unknown)[0]
        raise InvalidInput(f"unknown key {key!r}", field=key)
    kind = body.get("kind", tokens.SCIM)
    source = body.get("source")
    name = body.get("name") or source
    if kind == tokens.SCIM and (not isinstance(source, str) or not source.strip()):
        raise InvalidInput("a SCIM token needs the name of its source", field="source")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise InvalidInput("a token needs a name of 1 to 100 characters", field="name")
    source_name = source.strip() if kind == tokens.SCIM else None
    token, secret = ctx().run(
        lambda s: tokens.create(s, actor(), name=name.strip(), kind=kind, source_name=source_name)
    )
    shown_source = source if kind == tokens.SCIM else None
    response = jsonify({**tokens.representation(token, shown_source), "secret": secret})
    response.status_code = 201
    return response


@api_tokens.delete("/tokens/<int:token_id>")
def revoke_token(token_id: int) -> tuple[str, int]:
    ctx().run(lambda s: tokens.revoke(s, actor(), token_id))
    return "", 204
