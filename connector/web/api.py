"""The admin REST API (/api/v1): JSON in, service calls, JSON out."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from connector import vcard
from connector.db.models import Contact, Source
from connector.errors import InvalidInput, ServiceError
from connector.ldap import run_service as ldap_runs
from connector.services import (
    audit,
    contacts,
    delete_guard,
    deletion,
    explanation,
    jobs,
    mapping_preview,
    mappings,
    scope_preview,
    source_settings,
    sources,
    sync_scope,
    sync_settings,
    users,
)
from connector.web.auth import require_admin
from connector.web.http import (
    actor,
    bool_arg,
    ctx,
    int_arg,
    json_body,
    refuse_unstorable_request,
)

api = Blueprint("api", __name__, url_prefix="/api/v1")
api.before_request(require_admin)
api.before_request(refuse_unstorable_request)


def _page_size() -> int:
    return ctx().settings.api.max_page_size


def _runner() -> Any:
    return current_app.extensions["connector.runner"]


# ------------------------------------------------------------------ catalogue and mapping


@api.get("/fields")
def fields() -> Response:
    catalogue = ctx().catalogue
    return jsonify(
        {
            "user": [{"id": f.id, "label": f.label, "type": f.type} for f in catalogue.user_fields],
            "contact": [
                {"id": f.id, "label": f.label, "type": f.type} for f in catalogue.contact_fields
            ],
        }
    )


@api.get("/mapping")
def get_mapping() -> Response:
    return jsonify(ctx().read(lambda s: mappings.representation(s, mappings.current(s))))


def _mapping_body() -> tuple[Any, int | None]:
    """The rows and the based-on version of a mapping save (or of its preview)."""
    body = json_body()
    if not isinstance(body, dict) or "rows" not in body:
        raise InvalidInput("the body must be an object with 'rows'", field="rows")
    extra = set(body) - {"rows", "version", "staleContacts"}
    if extra:
        raise InvalidInput(f"unknown key {sorted(extra)[0]!r}", field=sorted(extra)[0])
    return body["rows"], _based_on_version(body.get("version"), request.headers.get("If-Match"))


@api.put("/mapping")
def put_mapping() -> Response:
    rows, based_on = _mapping_body()
    c = ctx()
    return jsonify(
        c.run(
            lambda s: mappings.representation(
                s, mappings.save(s, c.catalogue, actor(), rows, based_on)
            )
        )
    )


@api.post("/mapping/preview")
def preview_mapping() -> Response:
    """What saving these rows and then "Update all synchronized users" would change;
    saves nothing (a read-only transaction). ``?ids=true`` lists every changed contact."""
    rows, based_on = _mapping_body()
    with_ids = bool_arg("ids") or False
    c = ctx()
    batch = c.settings.jobs.batch_size
    return jsonify(
        c.read(
            lambda s: mapping_preview.preview(
                s, c.catalogue, rows, based_on, batch=batch, with_ids=with_ids
            )
        )
    )


def _based_on_version(in_body: Any, if_match: str | None) -> int | None:
    """The mapping version a save was edited from: the body's ``version`` or ``If-Match``.

    Both are optional (a script may save blindly); the console always sends the version.
    """
    if in_body is not None and (isinstance(in_body, bool) or not isinstance(in_body, int)):
        raise InvalidInput("version must be an integer", field="version")
    from_header = _if_match_version(if_match) if if_match else None
    if in_body is not None and from_header is not None and in_body != from_header:
        raise InvalidInput(f"version {in_body} and If-Match {if_match!r} disagree", field="version")
    return in_body if in_body is not None else from_header


def _if_match_version(if_match: str) -> int | None:
    tag = if_match.strip()
    if tag == "*":
        return None
    digits = tag.removeprefix("W/").strip('"')
    if re.fullmatch(r"[0-9]{1,18}", digits) is None:
        raise InvalidInput(
            f'If-Match {if_match!r} is not a mapping version such as W/"3"', field="If-Match"
        )
    return int(digits)


@api.delete("/mapping")
def delete_mapping() -> Response:
    return jsonify(ctx().run(lambda s: mappings.representation(s, mappings.clear(s, actor()))))


@api.post("/mapping/reset")
def reset_mapping() -> Response:
    c = ctx()
    return jsonify(
        c.run(lambda s: mappings.representation(s, mappings.reset(s, c.catalogue, actor())))
    )


# ------------------------------------------------------------------ settings


@api.get("/settings")
def get_settings() -> Response:
    return jsonify(ctx().read(lambda s: sync_settings.load(s).to_json()))


@api.patch("/settings")
def patch_settings() -> Response:
    body = json_body()
    return jsonify(ctx().run(lambda s: sync_settings.update(s, actor(), body).to_json()))


# ------------------------------------------------------------------ users


@api.get("/users")
def list_users() -> Response:
    start = int_arg("startIndex", 1, minimum=1)
    count = int_arg("count", 100, minimum=0, maximum=_page_size())
    filter_text, source_name = request.args.get("filter"), request.args.get("source")
    return jsonify(
        ctx().read(
            lambda s: users.listing(
                s,
                filter_text=filter_text,
                source_name=source_name,
                start_index=start,
                count=count,
            )
        )
    )


@api.post("/users")
def create_user() -> Response:
    body = json_body()
    c = ctx()
    created = c.run(
        lambda s: users.representation(
            s, users.create_local(s, c.catalogue, actor(), body), c.catalogue
        )
    )
    response = jsonify(created)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/users/{response.json['id']}"
    return response


@api.get("/users/<user_id>")
def get_user(user_id: str) -> Response:
    c = ctx()
    return jsonify(c.read(lambda s: users.representation(s, users.get(s, user_id), c.catalogue)))


@api.get("/users/<user_id>/explanation")
def explain_user(user_id: str) -> Response:
    """Why the user is (not) synchronised, its link, and what the current mapping would change."""
    return jsonify(ctx().read(lambda s: explanation.explain(s, user_id)))


@api.patch("/users/<user_id>")
def patch_user(user_id: str) -> Response:
    body = json_body()
    c = ctx()
    return jsonify(
        c.run(
            lambda s: users.representation(
                s, users.patch(s, actor(), user_id, body, c.catalogue), c.catalogue
            )
        )
    )


@api.delete("/users/<user_id>")
def delete_user(user_id: str) -> tuple[str, int]:
    ctx().run(lambda s: users.delete(s, actor(), user_id))
    return "", 204


@api.post("/users/sync")
def sync_users() -> Response:
    body = json_body()
    if not isinstance(body, dict) or not (("ids" in body) ^ ("all" in body)):
        raise InvalidInput('send either {"ids": [...]} or {"all": true}')
    if body.get("all") is True:
        job = ctx().run(lambda s: jobs.representation(jobs.start(s, actor(), jobs.SYNC_ALL)))
        _runner().submit(job["id"])
        names = [cfg.name for cfg in ctx().settings.sources.ldap]
        response = jsonify({**job, "ldapRuns": _poll_ldap(names)})
        response.status_code = 202
        return response
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidInput("'ids' must be a list of user ids", field="ids")
    result = ctx().run(lambda s: users.sync_now(s, actor(), ids))
    names = ctx().run(lambda s: ldap_runs.sources_of_users(s, ids))
    return jsonify({**result, "ldapRuns": _poll_ldap(names)})


def _poll_ldap(names: list[str]) -> list[dict[str, Any]]:
    """For LDAP users, "Synchronize users" polls their directory now (in the background)."""
    started = []
    for name in names:
        try:
            run_id = ldap_runs.queue(ctx(), name, actor())
        except ServiceError as exc:
            started.append({"source": name, "run": None, "message": exc.message})
            continue
        if not _runner().submit_ldap(name, run_id=run_id):
            ldap_runs.execute(ctx(), run_id)
        started.append({"source": name, "run": run_id})
    return started


# ------------------------------------------------------------------ contacts


@api.get("/contacts")
def list_contacts() -> Response:
    start = int_arg("startIndex", 1, minimum=1)
    count = int_arg("count", 100, minimum=0, maximum=_page_size())
    q, managed = request.args.get("q"), bool_arg("managed")
    sort_by, sort_order = request.args.get("sortBy"), request.args.get("sortOrder")
    cursor = request.args.get("cursor")
    return jsonify(
        ctx().read(
            lambda s: contacts.listing(
                s,
                q=q,
                managed=managed,
                start_index=start,
                count=count,
                sort_by=sort_by,
                sort_order=sort_order,
                cursor=cursor,
            )
        )
    )


@api.post("/contacts")
def create_contact() -> Response:
    body = json_body()
    c = ctx()

    created = c.run(
        lambda s: contacts.representations(s, [contacts.create(s, c.catalogue, actor(), body)])
    )
    response = jsonify(created[0])
    response.status_code = 201
    return response


@api.get("/contacts/<contact_id>")
def get_contact(contact_id: str) -> Response:
    if contact_id.endswith(".vcf"):
        return _one_vcard(contact_id.removesuffix(".vcf"))
    return jsonify(
        ctx().read(lambda s: contacts.representations(s, [contacts.get(s, contact_id)])[0])
    )


def _update_contact(contact_id: str, partial: bool) -> Response:
    body = json_body()
    c = ctx()

    updated = c.run(
        lambda s: contacts.representations(
            s, [contacts.update(s, c.catalogue, actor(), contact_id, body, partial=partial)]
        )
    )
    return jsonify(updated[0])


@api.put("/contacts/<contact_id>")
def put_contact(contact_id: str) -> Response:
    return _update_contact(contact_id, partial=False)


@api.patch("/contacts/<contact_id>")
def patch_contact(contact_id: str) -> Response:
    return _update_contact(contact_id, partial=True)


@api.delete("/contacts/<contact_id>")
def delete_contact(contact_id: str) -> tuple[str, int]:
    ctx().run(lambda s: contacts.delete(s, actor(), contact_id))
    return "", 204


VCARD_TYPE = "text/vcard; charset=utf-8"


def _vcard(contact: Contact) -> str:
    revision = contact.updated_at.strftime("%Y%m%dT%H%M%SZ")
    return vcard.render(contact.id, contact.fields, revision=revision)


def _one_vcard(contact_id: str) -> Response:
    text = ctx().read(lambda s: _vcard(contacts.get(s, contact_id)))
    response = Response(text, mimetype="text/vcard")
    response.headers["Content-Type"] = VCARD_TYPE
    response.headers["Content-Disposition"] = f'attachment; filename="{contact_id}.vcf"'
    return response


@api.get("/contacts.vcf")
def all_vcards() -> Response:
    c = ctx()

    def generate() -> Iterator[str]:
        with c.reading() as session:  # a long export must not hold the write lock
            for contact in contacts.iter_all(session):
                yield _vcard(contact)

    response = Response(stream_with_context(generate()), mimetype="text/vcard")
    response.headers["Content-Type"] = VCARD_TYPE
    response.headers["Content-Disposition"] = 'attachment; filename="contacts.vcf"'
    return response


@api.post("/contacts/resync")
def resync_contacts() -> Response:
    job = ctx().run(lambda s: jobs.representation(jobs.start(s, actor(), jobs.RESYNC)))
    _runner().submit(job["id"])
    response = jsonify(job)
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/jobs/{job['id']}"
    return response


@api.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    return jsonify(ctx().read(lambda s: jobs.representation(jobs.get(s, job_id))))


# ------------------------------------------------------------------ sources


def _source_json(
    source: Source,
    last_run: Callable[[Source], Any],
    guard_state: Callable[[Source], dict[str, Any]],
) -> dict[str, Any]:
    """A source; an LDAP source with its last run (``last_run`` looks it up), a SCIM
    source with its deletion guard and held deletions (``guard_state``)."""
    body: dict[str, Any] = {
        "name": source.name,
        "kind": source.kind,
        "syncScope": sync_scope.stored_scope(source.sync_scope),
    }
    if source.kind == ldap_runs.LDAP:
        body["lastRun"] = last_run(source)
    if source.kind == deletion.SCIM:
        body.update(guard_state(source))
    return body


@api.get("/sources")
def list_sources() -> Response:
    return jsonify(
        ctx().read(
            lambda s: {
                "items": [
                    _source_json(
                        x, partial(ldap_runs.last_run, s), partial(deletion.guard_state, s)
                    )
                    for x in sources.all_sources(s)
                ]
            }
        )
    )


@api.post("/sources/<name>/sync")
def sync_source(name: str) -> Response:
    """Poll (or, with {"full": true}, reconcile) an LDAP source now, in the background."""
    body = json_body() if request.data else {}
    if (
        not isinstance(body, dict)
        or set(body) - {"full"}
        or not isinstance(body.get("full", False), bool)
    ):
        raise InvalidInput('send {"full": true | false}', field="full")
    c = ctx()
    run_id = ldap_runs.queue(c, name, actor(), full=body.get("full", False))
    return _start_run(name, run_id)


def _start_run(name: str, run_id: int) -> Response:
    c = ctx()
    if not _runner().submit_ldap(name, run_id=run_id):
        ldap_runs.execute(c, run_id)  # no scheduler in this process: run it here
    run = c.run(lambda s: ldap_runs.representation(sources.sync_run(s, run_id), name))
    response = jsonify(run)
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/sources/{name}/runs"
    return response


@api.get("/sources/<name>/runs")
def list_source_runs(name: str) -> Response:
    limit = int_arg("count", 50, minimum=1, maximum=_page_size())
    return jsonify(ctx().read(lambda s: {"items": ldap_runs.list_runs(s, name, limit)}))


@api.post("/sources/<name>/runs/<int:run_id>/confirm")
def confirm_source_run(name: str, run_id: int) -> Response:
    """Allow a blocked run's deletions: a reconciliation runs now, in the background
    (202 and the new run, as for POST /sources/{name}/sync)."""
    return _start_run(name, ldap_runs.queue_confirmation(ctx(), name, run_id, actor()))


def _scope_body() -> Any:
    body = json_body()
    if not isinstance(body, dict) or set(body) - {"syncScope"} or "syncScope" not in body:
        raise InvalidInput('send {"syncScope": true | false | "<SCIM filter>"}', field="syncScope")
    return body["syncScope"]


@api.patch("/sources/<name>")
def patch_source(name: str) -> Response:
    """``syncScope`` and, for a SCIM source, ``deleteGuard`` (null turns it off)."""
    body = json_body()
    keys = {"syncScope", "deleteGuard"}
    if not isinstance(body, dict) or set(body) - keys or not set(body) & keys:
        raise InvalidInput(
            'send {"syncScope": true | false | "<SCIM filter>"} and/or {"deleteGuard": '
            '{"maxCount": N, "maxPercent": P, "window": "1h"} | null}',
            field="syncScope",
        )
    guard = delete_guard.validated(body["deleteGuard"]) if "deleteGuard" in body else None
    scope = body.get("syncScope", sources.UNCHANGED)
    c = ctx()
    batch = c.settings.jobs.batch_size
    return jsonify(
        c.run(
            lambda s: _source_json(
                source_settings.update_source(
                    s,
                    actor(),
                    name,
                    batch,
                    scope=scope,
                    guard=guard,
                    set_guard="deleteGuard" in body,
                ),
                partial(ldap_runs.last_run, s),
                partial(deletion.guard_state, s),
            )
        )
    )


@api.post("/sources/<name>/scope/preview")
def preview_source_scope(name: str) -> Response:
    """Who would gain or lose a contact under this scope; changes nothing."""
    scope = _scope_body()
    c = ctx()
    batch = c.settings.jobs.batch_size
    return jsonify(c.read(lambda s: scope_preview.preview(s, name, scope, batch=batch)))


# ------------------------------------------------------------------ audit


@api.get("/audit")
def audit_log() -> Response:
    start = int_arg("startIndex", 1, minimum=1)
    count = int_arg("count", 100, minimum=0, maximum=_page_size())
    filters = {name: request.args.get(name) for name in audit.FILTERS}
    return jsonify(
        ctx().read(lambda s: audit.list_events(s, filters, start_index=start, count=count))
    )
