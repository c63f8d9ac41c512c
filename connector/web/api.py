"""The admin REST API (/api/v1): JSON in, service calls, JSON out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector import vcard
from connector.db.models import AuditEvent, Source, SyncRun, User
from connector.errors import InvalidInput, ServiceError
from connector.ldap import run_service as ldap_runs
from connector.queries.user_filter import to_sql
from connector.services import contacts, jobs, mappings, sources, sync_settings, users
from connector.web.auth import require_admin
from connector.web.http import actor, bool_arg, ctx, int_arg, json_body
from scim.errors import ScimError
from scim.filter import matches, parse

api = Blueprint("api", __name__, url_prefix="/api/v1")
api.before_request(require_admin)


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
            "user": [{"id": f.id, "label": f.label} for f in catalogue.user_fields],
            "contact": [{"id": f.id, "label": f.label} for f in catalogue.contact_fields],
        }
    )


def _mapping_json(session: Session, current: mappings.CurrentMapping) -> dict[str, Any]:
    return {**current.to_json(), "staleContacts": mappings.stale_contacts(session, current.version)}


@api.get("/mapping")
def get_mapping() -> Response:
    return jsonify(ctx().run(lambda s: _mapping_json(s, mappings.current(s))))


@api.put("/mapping")
def put_mapping() -> Response:
    body = json_body()
    if not isinstance(body, dict) or "rows" not in body:
        raise InvalidInput("the body must be an object with 'rows'", field="rows")
    extra = set(body) - {"rows", "version", "staleContacts"}
    if extra:
        raise InvalidInput(f"unknown key {sorted(extra)[0]!r}", field=sorted(extra)[0])
    c = ctx()
    return jsonify(
        c.run(lambda s: _mapping_json(s, mappings.save(s, c.catalogue, actor(), body["rows"])))
    )


@api.delete("/mapping")
def delete_mapping() -> Response:
    return jsonify(ctx().run(lambda s: _mapping_json(s, mappings.clear(s, actor()))))


@api.post("/mapping/reset")
def reset_mapping() -> Response:
    c = ctx()
    return jsonify(c.run(lambda s: _mapping_json(s, mappings.reset(s, c.catalogue, actor()))))


# ------------------------------------------------------------------ settings


@api.get("/settings")
def get_settings() -> Response:
    return jsonify(ctx().run(lambda s: sync_settings.load(s).to_json()))


@api.patch("/settings")
def patch_settings() -> Response:
    body = json_body()
    return jsonify(ctx().run(lambda s: sync_settings.update(s, actor(), body).to_json()))


# ------------------------------------------------------------------ users


def _user_filter() -> tuple[list[Any], Any]:
    """SQL conditions, plus an in-memory filter when SQL cannot express it all."""
    where: list[Any] = []
    leftover = None
    text = request.args.get("filter")
    if text:
        try:
            expr = parse(text)
            condition = to_sql(expr)
        except ScimError as exc:
            raise InvalidInput(exc.message, field="filter") from exc
        if condition is None:
            leftover = expr
        else:
            where.append(condition)
    return where, leftover


@api.get("/users")
def list_users() -> Response:
    start = int_arg("startIndex", 1, minimum=1)
    count = int_arg("count", 100, minimum=0, maximum=_page_size())
    where, leftover = _user_filter()
    source_name = request.args.get("source")

    def work(session: Session) -> dict[str, Any]:
        if source_name:
            source_id = session.scalar(select(Source.id).where(Source.name == source_name))
            where.append(User.source_id == (source_id or -1))
        if leftover is None:
            total = users.count(session, where)
            page = session.scalars(
                select(User)
                .where(*where)
                .order_by(User.user_name_ci)
                .offset(start - 1)
                .limit(count)
            ).all()
        else:
            hits = [
                u
                for u in users.iter_users(session, where)
                if matches(leftover, u.resource | {"id": u.id})
            ]
            hits.sort(key=lambda u: u.user_name_ci)
            total, page = len(hits), hits[start - 1 : start - 1 + count]
        return {
            "items": users.representations(session, list(page)),
            "total": total,
            "startIndex": start,
        }

    return jsonify(ctx().run(work))


@api.post("/users")
def create_user() -> Response:
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    data = {k: v for k, v in body.items() if k not in users.API_KEYS}

    def work(session: Session) -> dict[str, Any]:
        local = sources.get_or_create(session, sources.LOCAL, sources.LOCAL)
        user = users.create(
            session,
            actor(),
            local,
            data,
            sync_to_contact=body.get("syncToContact", False),
            sync_direction=body.get("syncDirection"),
        )
        return users.representation(session, user)

    response = jsonify(ctx().run(work))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/users/{response.json['id']}"
    return response


@api.get("/users/<user_id>")
def get_user(user_id: str) -> Response:
    return jsonify(ctx().run(lambda s: users.representation(s, users.get(s, user_id))))


@api.patch("/users/<user_id>")
def patch_user(user_id: str) -> Response:
    body = json_body()
    return jsonify(
        ctx().run(lambda s: users.representation(s, users.patch(s, actor(), user_id, body)))
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

    def work(session: Session) -> dict[str, Any]:
        items, total = contacts.page(session, q=q, managed=managed, offset=start - 1, limit=count)
        return {
            "items": contacts.representations(session, items),
            "total": total,
            "startIndex": start,
        }

    return jsonify(ctx().run(work))


@api.post("/contacts")
def create_contact() -> Response:
    body = json_body()
    c = ctx()

    def work(session: Session) -> dict[str, Any]:
        contact = contacts.create(session, c.catalogue, actor(), body)
        return contacts.representations(session, [contact])[0]

    response = jsonify(c.run(work))
    response.status_code = 201
    return response


@api.get("/contacts/<contact_id>")
def get_contact(contact_id: str) -> Response:
    if contact_id.endswith(".vcf"):
        return _one_vcard(contact_id.removesuffix(".vcf"))
    return jsonify(
        ctx().run(lambda s: contacts.representations(s, [contacts.get(s, contact_id)])[0])
    )


def _update_contact(contact_id: str, partial: bool) -> Response:
    body = json_body()
    c = ctx()

    def work(session: Session) -> dict[str, Any]:
        contact = contacts.update(session, c.catalogue, actor(), contact_id, body, partial=partial)
        return contacts.representations(session, [contact])[0]

    return jsonify(c.run(work))


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


def _one_vcard(contact_id: str) -> Response:
    def work(session: Session) -> str:
        contact = contacts.get(session, contact_id)
        return vcard.render(
            contact.id, contact.fields, revision=contact.updated_at.strftime("%Y%m%dT%H%M%SZ")
        )

    response = Response(ctx().run(work), mimetype="text/vcard")
    response.headers["Content-Type"] = VCARD_TYPE
    response.headers["Content-Disposition"] = f'attachment; filename="{contact_id}.vcf"'
    return response


@api.get("/contacts.vcf")
def all_vcards() -> Response:
    c = ctx()

    def generate() -> Iterator[str]:
        with c.unit_of_work() as session:
            for contact in contacts.iter_all(session):
                yield vcard.render(
                    contact.id,
                    contact.fields,
                    revision=contact.updated_at.strftime("%Y%m%dT%H%M%SZ"),
                )

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
    return jsonify(ctx().run(lambda s: jobs.representation(jobs.get(s, job_id))))


# ------------------------------------------------------------------ sources


def _source_json(source: Source, session: Session | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": source.name,
        "kind": source.kind,
        "syncScope": source.sync_scope.get("scope", False),
    }
    if session is not None and source.kind == ldap_runs.LDAP:
        body["lastRun"] = ldap_runs.last_run(session, source)
    return body


@api.get("/sources")
def list_sources() -> Response:
    return jsonify(
        ctx().run(lambda s: {"items": [_source_json(x, s) for x in sources.all_sources(s)]})
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
    run = c.run(lambda s: ldap_runs.representation(s.get(SyncRun, run_id), name))
    response = jsonify(run)
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/sources/{name}/runs"
    return response


@api.get("/sources/<name>/runs")
def list_source_runs(name: str) -> Response:
    limit = int_arg("count", 50, minimum=1, maximum=_page_size())
    return jsonify(ctx().run(lambda s: {"items": ldap_runs.list_runs(s, name, limit)}))


@api.post("/sources/<name>/runs/<int:run_id>/confirm")
def confirm_source_run(name: str, run_id: int) -> Response:
    """Allow a blocked run's deletions: a reconciliation runs now, in the background
    (202 and the new run, as for POST /sources/{name}/sync)."""
    return _start_run(name, ldap_runs.queue_confirmation(ctx(), name, run_id, actor()))


@api.patch("/sources/<name>")
def patch_source(name: str) -> Response:
    body = json_body()
    if not isinstance(body, dict) or set(body) - {"syncScope"} or "syncScope" not in body:
        raise InvalidInput('send {"syncScope": true | false | "<SCIM filter>"}', field="syncScope")
    return jsonify(
        ctx().run(
            lambda s: _source_json(sources.set_sync_scope(s, actor(), name, body["syncScope"]), s)
        )
    )


# ------------------------------------------------------------------ audit


@api.get("/audit")
def audit_log() -> Response:
    start = int_arg("startIndex", 1, minimum=1)
    count = int_arg("count", 100, minimum=0, maximum=_page_size())
    where = []
    for param, column in (
        ("objectType", AuditEvent.object_type),
        ("objectId", AuditEvent.object_id),
        ("actor", AuditEvent.actor),
        ("action", AuditEvent.action),
    ):
        value = request.args.get(param)
        if value:
            where.append(column == value)

    def work(session: Session) -> dict[str, Any]:
        total = session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
        rows = session.scalars(
            select(AuditEvent)
            .where(*where)
            .order_by(AuditEvent.id.desc())
            .offset(start - 1)
            .limit(count)
        ).all()
        return {"items": [_audit_json(e) for e in rows], "total": total, "startIndex": start}

    return jsonify(ctx().run(work))


def _audit_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "objectType": event.object_type,
        "objectId": event.object_id,
        "before": event.before,
        "after": event.after,
        "outcome": event.outcome,
        "message": event.message,
    }
