"""Admin API for soft deletion (/api/v1/deleted) and the SCIM deletion guard's held
deletions (/api/v1/sources/NAME/held/...)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from connector.services import deletion
from connector.web.auth import require_admin
from connector.web.http import actor, ctx, int_arg, refuse_unstorable_request

api_deleted = Blueprint("api_deleted", __name__, url_prefix="/api/v1")
api_deleted.before_request(require_admin)
api_deleted.before_request(refuse_unstorable_request)


def _paging() -> tuple[int, int]:
    start = int_arg("startIndex", 1, minimum=1)
    count = int_arg("count", 100, minimum=0, maximum=ctx().settings.api.max_page_size)
    return start, count


@api_deleted.get("/deleted")
def list_deleted() -> Response:
    """Users and contacts pending deletion (or held), newest first."""
    start, count = _paging()
    source, kind = request.args.get("source") or None, request.args.get("kind") or None
    return jsonify(
        ctx().read(
            lambda s: deletion.listing(
                s, source_name=source, kind=kind, start_index=start, count=count
            )
        )
    )


@api_deleted.post("/deleted/<deleted_id>/restore")
def restore_deleted(deleted_id: str) -> Response:
    return jsonify(ctx().run(lambda s: deletion.restore(s, actor(), deleted_id)))


@api_deleted.get("/deleted/suppressions")
def list_suppressions() -> Response:
    """Users an admin deleted, which their directory's polls do not bring back."""
    start, count = _paging()
    source = request.args.get("source") or None
    return jsonify(
        ctx().read(
            lambda s: deletion.suppressions(s, source_name=source, start_index=start, count=count)
        )
    )


@api_deleted.delete("/deleted/suppressions/<int:suppression_id>")
def lift_suppression(suppression_id: int) -> tuple[str, int]:
    ctx().run(lambda s: deletion.lift(s, actor(), suppression_id))
    return "", 204


@api_deleted.post("/sources/<name>/held/confirm")
def confirm_held(name: str) -> Response:
    """The held deletions of a SCIM source go ahead (restorable for the grace period)."""
    return jsonify(ctx().run(lambda s: deletion.confirm_held(s, actor(), name)))


@api_deleted.post("/sources/<name>/held/reject")
def reject_held(name: str) -> Response:
    """The held deletions of a SCIM source are undone: the users come back."""
    return jsonify(ctx().run(lambda s: deletion.reject_held(s, actor(), name)))
