"""The OpenAPI 3.1 description of the admin API (/api/v1), served at /api/v1/openapi.json.

One Python dict, next to the routes it describes. It is kept true by
``tests/integration/test_openapi.py``: every documented operation is called
with real requests and its answers are validated against the schemas here, and
a route of the app under /api/v1 that is missing here fails the suite.

The description is readable without a token (like SCIM's discovery documents):
it holds no data, only the shapes.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from flask import Blueprint, Response, jsonify

openapi = Blueprint("openapi", __name__, url_prefix="/api/v1")

JSON = "application/json"
VCARD = "text/vcard"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


_STRING, _INT, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
_TIME = {"type": "string", "format": "date-time"}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """A closed object: ``required`` keys always present, ``optional`` may be."""
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
        "additionalProperties": False,
    }


def _page(item: str) -> dict[str, Any]:
    return _object(
        {"items": {"type": "array", "items": _ref(item)}, "total": _INT, "startIndex": _INT}
    )


def _items(item: str) -> dict[str, Any]:
    return _object({"items": {"type": "array", "items": _ref(item)}})


SCHEMAS: dict[str, Any] = {
    "Error": _object(
        {"error": _STRING, "message": _STRING},
        {
            "field": _STRING,
            "currentVersion": {
                **_INT,
                "description": "With a 409 for a stale version: the version now current.",
            },
        },
    ),
    "Field": _object({"id": _STRING, "label": _STRING, "type": {"enum": ["text", "email", "tel"]}}),
    "Fields": _object(
        {
            "user": {"type": "array", "items": _ref("Field")},
            "contact": {"type": "array", "items": _ref("Field")},
        }
    ),
    "MappingRow": _object({"userField": _STRING, "contactField": _STRING}),
    "Mapping": _object(
        {
            "version": _INT,
            "rows": {"type": "array", "items": _ref("MappingRow")},
            "staleContacts": _INT,
        }
    ),
    "MappingInput": {
        **_object(
            {"rows": {"type": "array", "items": _ref("MappingRow")}},
            {"version": _INT, "staleContacts": _INT},
        ),
        "description": "`version` is the version the rows were edited from (or send "
        '`If-Match: W/"<version>"`): optional for scripts, the console always sends it. '
        "When another save came in between, the answer is 409 with `currentVersion` "
        "and nothing changes. Saving the current rows again answers 200 with the current "
        "version and changes nothing.",
    },
    "Settings": _object(
        {
            "direction": {"enum": ["user_to_contact", "contact_to_user"]},
            "deleteContactWithUser": _BOOL,
            "deleteUserWithContact": _BOOL,
            "onDeactivate": {"enum": ["keep", "mark_inactive", "delete"]},
        }
    ),
    "SettingsPatch": {
        "type": "object",
        "properties": {
            "direction": {"enum": ["user_to_contact", "contact_to_user"]},
            "deleteContactWithUser": _BOOL,
            "deleteUserWithContact": _BOOL,
            "onDeactivate": {"enum": ["keep", "mark_inactive", "delete"]},
        },
        "additionalProperties": False,
    },
    "User": {
        "description": "The SCIM User (core, enterprise and connector extensions) plus the "
        "connector's own keys.",
        "type": "object",
        "properties": {
            "id": _STRING,
            "userName": _STRING,
            "source": _nullable(_STRING),
            "syncToContact": _BOOL,
            "syncToContactSetBy": {
                "enum": ["admin", "source"],
                "description": "Who set syncToContact: an admin (an override the source's "
                "scope does not undo; always for local users) or the source's scope.",
            },
            "syncDirection": _nullable({"enum": ["user_to_contact", "contact_to_user"]}),
            "contactId": _nullable(_STRING),
            "fields": {
                "type": "object",
                "additionalProperties": _STRING,
                "description": "The value of each catalogued user field (GET /fields) the "
                "user has, by its path; in the answers about one user only",
            },
            "meta": _object(
                {
                    "resourceType": {"const": "User"},
                    "created": _TIME,
                    "lastModified": _TIME,
                    "version": _STRING,
                }
            ),
        },
        "required": [
            "id",
            "userName",
            "source",
            "syncToContact",
            "syncToContactSetBy",
            "syncDirection",
            "contactId",
        ],
        "additionalProperties": True,
    },
    "UserInput": {
        "description": "A SCIM User's attributes, plus syncToContact and syncDirection; "
        "PATCH takes a JSON merge patch of the same. In a PATCH, syncToContact true or "
        "false is the admin's override of the source's scope; null returns the user to "
        "following the source.",
        "type": "object",
        "properties": {
            "userName": _STRING,
            "syncToContact": _nullable(_BOOL),
            "syncDirection": _nullable({"enum": ["user_to_contact", "contact_to_user"]}),
            "fields": {
                "type": "object",
                "additionalProperties": _nullable(_STRING),
                "description": "Catalogued user fields by path (GET /fields), set on top of "
                "the SCIM attributes; empty or null clears one",
            },
        },
        "additionalProperties": True,
    },
    "UserPage": _page("User"),
    "SyncRequest": {
        "oneOf": [
            _object({"ids": {"type": "array", "items": _STRING}}),
            _object({"all": {"const": True}}),
        ]
    },
    "LdapRunStarted": _object({"source": _STRING, "run": _nullable(_INT)}, {"message": _STRING}),
    "SyncResult": _object(
        {
            "synced": {"type": "array", "items": _STRING},
            "skipped": {
                "type": "array",
                "items": _object({"id": _STRING, "reason": _STRING}),
            },
            "ldapRuns": {"type": "array", "items": _ref("LdapRunStarted")},
        }
    ),
    "Contact": _object(
        {
            "id": _STRING,
            "fields": {"type": "object", "additionalProperties": _STRING},
            "managedBy": _nullable(
                _object(
                    {
                        "userId": _STRING,
                        "userName": _STRING,
                        "source": _nullable(_STRING),
                        "direction": {"enum": ["user_to_contact", "contact_to_user"]},
                        "readOnly": _BOOL,
                        "reason": {
                            **_nullable(_STRING),
                            "description": "Why the contact cannot be edited here (null "
                            "when it can: reversed direction and a local user)",
                        },
                    }
                )
            ),
            "linkState": _nullable(_STRING),
            "mappingVersion": _nullable(_INT),
            "active": _BOOL,
            "version": _INT,
            "updatedAt": _TIME,
        }
    ),
    "ContactInput": _object({"fields": {"type": "object", "additionalProperties": _STRING}}),
    "ContactPage": _object(
        {
            "items": {"type": "array", "items": _ref("Contact")},
            "total": _INT,
            "startIndex": _INT,
            "nextCursor": {
                **_nullable(_STRING),
                "description": "Pass as 'cursor' (with the same sortBy and sortOrder) for "
                "the next page; null on the last page",
            },
        }
    ),
    "Job": _object(
        {
            "id": _STRING,
            "kind": {"enum": ["resync_contacts", "sync_users"]},
            "state": _STRING,
            "total": _INT,
            "done": _INT,
            "changed": _INT,
            "errors": _INT,
            "errorMessages": {"type": "array", "items": _STRING},
            "mappingVersion": _nullable(_INT),
            "createdAt": _TIME,
            "finishedAt": _nullable(_TIME),
        },
        {"ldapRuns": {"type": "array", "items": _ref("LdapRunStarted")}},
    ),
    "Run": _object(
        {
            "id": _INT,
            "source": _nullable(_STRING),
            "kind": {"enum": ["poll", "full"]},
            "state": {
                "enum": ["queued", "running", "ok", "error", "blocked", "confirmed", "skipped"]
            },
            "actor": _STRING,
            "start": _TIME,
            "end": _nullable(_TIME),
            "read": _INT,
            "created": _INT,
            "updated": _INT,
            "deleted": _INT,
            "deactivated": _INT,
            "unchanged": _INT,
            "suppressed": _INT,
            "errors": _INT,
            "wouldDelete": _INT,
            "message": _nullable(_STRING),
            "errorMessages": {"type": "array", "items": _STRING},
            "watermark": _nullable(_STRING),
            "confirmsRun": _nullable(_INT),
            "confirmedByRun": _nullable(_INT),
        }
    ),
    "RunList": _items("Run"),
    "Source": _object(
        {
            "name": _STRING,
            "kind": _STRING,
            "syncScope": {"anyOf": [_BOOL, _STRING]},
        },
        {
            "lastRun": _nullable(_ref("Run")),
            "deleteGuard": _nullable(_ref("DeleteGuard")),
            "heldDeletions": {
                **_INT,
                "description": "SCIM sources: deletions held by the guard, awaiting an admin.",
            },
            "blocked": {**_BOOL, "description": "SCIM sources: deletions are held."},
        },
    ),
    "SourceList": _items("Source"),
    "DeleteGuard": {
        **_object(
            {"maxCount": _INT, "maxPercent": {"type": "number"}, "window": _STRING},
        ),
        "description": "A SCIM source's deletion guard: past maxCount deletions and "
        "deactivations, or past maxPercent of its users, within window (such as '1h'), "
        "the source's further deletions are held until an admin confirms or rejects them.",
    },
    "DeleteGuardInput": _object(
        {}, {"maxCount": _INT, "maxPercent": {"type": "number"}, "window": _STRING}
    ),
    "SourcePatch": {
        "type": "object",
        "properties": {
            "syncScope": {"anyOf": [_BOOL, _STRING]},
            "deleteGuard": _nullable(_ref("DeleteGuardInput")),
        },
        "minProperties": 1,
        "additionalProperties": False,
    },
    "SourceScope": {
        "type": "object",
        "properties": {"syncScope": {"anyOf": [_BOOL, _STRING]}},
        "required": ["syncScope"],
        "additionalProperties": False,
    },
    "Deleted": _object(
        {
            "id": _STRING,
            "kind": {"enum": ["user", "contact"]},
            "state": {"enum": ["pending", "held"]},
            "name": _STRING,
            "objectId": _STRING,
            "source": _nullable(_STRING),
            "anchor": _nullable(_STRING),
            "contactId": _nullable(_STRING),
            "contactDeleted": _BOOL,
            "deletedAt": _TIME,
            "deletedBy": _STRING,
            "origin": {"enum": ["source", "admin"]},
            "reason": _STRING,
            "purgeAfter": _nullable(_TIME),
            "suppressionId": _nullable(_INT),
        }
    ),
    "DeletedPage": _page("Deleted"),
    "Restored": _object(
        {
            "kind": {"enum": ["user", "contact"]},
            "userId": _nullable(_STRING),
            "contactId": _nullable(_STRING),
        }
    ),
    "Suppression": _object(
        {
            "id": _INT,
            "source": _nullable(_STRING),
            "key": _STRING,
            "userName": _STRING,
            "deletedAt": _TIME,
            "deletedBy": _STRING,
        }
    ),
    "SuppressionPage": _page("Suppression"),
    "HeldConfirmed": _object({"source": _STRING, "confirmed": _INT}),
    "HeldRejected": _object({"source": _STRING, "restored": _INT}),
    "SourceSyncRequest": _object({}, {"full": _BOOL}),
    "ContactState": _object(
        {"fields": {"type": "object", "additionalProperties": _STRING}, "active": _BOOL}
    ),
    "FieldCounts": _object({"set": _INT, "changed": _INT, "emptied": _INT}),
    "MappingPreview": {
        **_object(
            {
                "mappingVersion": _INT,
                "savedAsVersion": _INT,
                "contacts": _INT,
                "changed": _INT,
                "updated": _INT,
                "deleted": _INT,
                "unchanged": _INT,
                "leftAlone": _INT,
                "errors": _INT,
                "errorMessages": {"type": "array", "items": _STRING},
                "activeChanged": _INT,
                "fields": {"type": "object", "additionalProperties": _ref("FieldCounts")},
                "samples": {
                    "type": "array",
                    "maxItems": 20,
                    "items": _object(
                        {
                            "contactId": _STRING,
                            "userId": _STRING,
                            "userName": _STRING,
                            "action": {"enum": ["update", "delete"]},
                            "before": _ref("ContactState"),
                            "after": _nullable(_ref("ContactState")),
                        }
                    ),
                },
            },
            {"changedContactIds": {"type": "array", "items": _STRING}},
        ),
        "description": 'What "Update all synchronized users" would change after saving '
        "these rows: `contacts` active links visited, `changed` = `updated` + `deleted` "
        "(the job's `changed`), per contact field how many values it would set, change or "
        "empty, and up to 20 samples. Nothing is saved.",
    },
    "ScopePreview": _object(
        {
            "source": _STRING,
            "syncScope": _object(
                {"before": {"anyOf": [_BOOL, _STRING]}, "after": {"anyOf": [_BOOL, _STRING]}}
            ),
            "users": _INT,
            "switchOn": _INT,
            "switchOff": _INT,
            "gain": _INT,
            "lose": _INT,
            "setByAdmin": _INT,
            "setByIdentityProvider": _INT,
            "samples": {
                "type": "array",
                "maxItems": 20,
                "items": _object(
                    {
                        "userId": _STRING,
                        "userName": _STRING,
                        "syncToContact": _object({"before": _BOOL, "after": _BOOL}),
                        "contact": {"enum": ["create", "resume", "pause", "none"]},
                        "contactId": _nullable(_STRING),
                    }
                ),
            },
        }
    ),
    "Explanation": _object(
        {
            "userId": _STRING,
            "userName": _STRING,
            "source": _STRING,
            "syncToContact": _BOOL,
            "decidedBy": _object(
                {"by": {"enum": ["admin", "identityProvider", "scope"]}},
                {
                    "reason": {"enum": ["local", "override"]},
                    "value": _nullable(_BOOL),
                    "scope": {"anyOf": [_BOOL, _STRING]},
                    "matched": {"type": "array", "items": _STRING},
                    "failed": {"type": "array", "items": _STRING},
                },
            ),
            "link": _object(
                {
                    "state": {"enum": ["active", "paused", "none"]},
                    "contactId": _nullable(_STRING),
                    "differences": {
                        "type": "array",
                        "items": _object(
                            {
                                "field": _STRING,
                                "current": _nullable(_STRING),
                                "wouldBe": _nullable(_STRING),
                            }
                        ),
                    },
                },
                {"mappingVersion": _INT, "currentMappingVersion": _INT, "stale": _BOOL},
            ),
            "summary": {"type": "array", "items": _STRING},
        }
    ),
    "AuditEvent": _object(
        {
            "id": _INT,
            "at": _TIME,
            "actor": _STRING,
            "action": _STRING,
            "objectType": _STRING,
            "objectId": _nullable(_STRING),
            "objectName": _nullable(_STRING),
            "before": {},
            "after": {},
            "changes": {
                "type": "array",
                "description": "What changed, one row per field (see the README's audit log).",
                "items": _object({"field": _STRING, "before": {}, "after": {}}),
            },
            "outcome": _STRING,
            "message": _nullable(_STRING),
        }
    ),
    "AuditPage": _page("AuditEvent"),
    "Token": _object(
        {
            "id": _INT,
            "name": _STRING,
            "kind": {"enum": ["admin", "scim"]},
            "source": _nullable(_STRING),
            "createdAt": _TIME,
            "lastUsedAt": _nullable(_TIME),
            "revokedAt": _nullable(_TIME),
        }
    ),
    "TokenList": _items("Token"),
    "TokenInput": _object(
        {},
        {"kind": {"enum": ["admin", "scim"]}, "source": _STRING, "name": _STRING},
    ),
    "TokenCreated": {
        "description": "The token, and its secret: shown in this answer only.",
        "type": "object",
        "properties": {},  # filled in below: Token's properties and the secret
        "additionalProperties": False,
    },
}

SCHEMAS["TokenCreated"]["properties"] = {**SCHEMAS["Token"]["properties"], "secret": _STRING}
SCHEMAS["TokenCreated"]["required"] = [*SCHEMAS["Token"]["required"], "secret"]

_ERRORS = {
    "400": "Bad input: the message says what was wrong, `field` names it.",
    "401": "No admin token or console session.",
    "403": "A console session without its CSRF token.",
    "404": "No such object.",
    "409": "A conflict: a read-only (synchronised) contact, a stale version, a name taken.",
    "412": "A stale version (If-Match).",
    "413": "The body is larger than server.max_body_bytes.",
}


def _error(status: str) -> dict[str, Any]:
    return {"description": _ERRORS[status], "content": {JSON: {"schema": _ref("Error")}}}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(schema)}}}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": _ref(schema)}}}


def _op(
    summary: str,
    responses: dict[str, Any],
    *,
    errors: tuple[str, ...] = (),
    body: str | None = None,
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An operation; every one may answer 401 and 403 (authentication) and 400 (the URL)."""
    operation: dict[str, Any] = {"summary": summary, "responses": dict(responses)}
    if body is not None:
        operation["requestBody"] = _body(body)
    if params:
        operation["parameters"] = params
    for status in sorted({"400", "401", "403", *errors}):
        operation["responses"][status] = _error(status)
    return operation


def _path(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or _STRING}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_PAGING = [
    _query("startIndex", {"type": "integer", "minimum": 1}, "1-based index of the first item"),
    _query(
        "count", {"type": "integer", "minimum": 0}, "items per page (at most api.max_page_size)"
    ),
]
_NO_CONTENT = {"204": {"description": "Done; no body."}}
_WRITE_ERRORS = ("404", "409", "413")

PATHS: dict[str, Any] = {
    "/fields": {
        "get": _op("Both field catalogues", {"200": _json("The catalogues", "Fields")}),
    },
    "/mapping": {
        "get": _op("The field mapping in force", {"200": _json("The mapping", "Mapping")}),
        "put": _op(
            "Save a new field mapping (touches no contact)",
            {"200": _json("The saved mapping", "Mapping")},
            body="MappingInput",
            errors=("409", "413"),
            params=[
                {
                    "name": "If-Match",
                    "in": "header",
                    "required": False,
                    "schema": _STRING,
                    "description": 'The version the rows were edited from, as W/"<version>" '
                    "(the same as the body's `version`).",
                }
            ],
        ),
        "delete": _op("Delete every row", {"200": _json("The empty mapping", "Mapping")}),
    },
    "/mapping/preview": {
        "post": _op(
            'Preview a mapping save and the "Update all synchronized users" after it '
            "(saves nothing; a read-only transaction)",
            {"200": _json("What the update would change", "MappingPreview")},
            body="MappingInput",
            errors=("409", "413"),
            params=[_query("ids", _BOOL, "also list every contact the update would change")],
        ),
    },
    "/mapping/reset": {
        "post": _op("Restore the default mapping", {"200": _json("The mapping", "Mapping")}),
    },
    "/settings": {
        "get": _op("Sync settings", {"200": _json("The settings", "Settings")}),
        "patch": _op(
            "Change sync settings",
            {"200": _json("The settings", "Settings")},
            body="SettingsPatch",
            errors=("413",),
        ),
    },
    "/users": {
        "get": _op(
            "Users, by userName",
            {"200": _json("A page of users", "UserPage")},
            params=[
                _query("filter", _STRING, "a SCIM filter"),
                _query("source", _STRING, "only this source's users"),
                *_PAGING,
            ],
        ),
        "post": _op(
            "Create a local user",
            {"201": _json("The user", "User")},
            body="UserInput",
            errors=("409", "413"),
        ),
    },
    "/users/sync": {
        "post": _op(
            '"Synchronize users": some at once, or all as a job',
            {
                "200": _json("The selected users, synchronised", "SyncResult"),
                "202": _json("The queued job (with the LDAP runs it started)", "Job"),
            },
            body="SyncRequest",
            errors=("413",),
        ),
    },
    "/users/{user_id}": {
        "parameters": [_path("user_id")],
        "get": _op("One user", {"200": _json("The user", "User")}, errors=("404",)),
        "patch": _op(
            "Change a user (JSON merge patch)",
            {"200": _json("The user", "User")},
            body="UserInput",
            errors=_WRITE_ERRORS,
        ),
        "delete": _op("Delete a user", _NO_CONTENT, errors=("404", "409")),
    },
    "/users/{user_id}/explanation": {
        "parameters": [_path("user_id")],
        "get": _op(
            "Why the user is (not) synchronised, its link, and the fields the current "
            "mapping would change",
            {"200": _json("The explanation", "Explanation")},
            errors=("404",),
        ),
    },
    "/contacts": {
        "get": _op(
            "The address book",
            {"200": _json("A page of contacts", "ContactPage")},
            params=[
                _query("q", _STRING, "search text"),
                _query("managed", _BOOL, "only synchronised (true) or other (false) contacts"),
                _query("sortBy", {"enum": ["name", "email", "updated"]}, "the order (name)"),
                _query("sortOrder", {"enum": ["ascending", "descending"]}, "ascending by default"),
                _query(
                    "cursor",
                    _STRING,
                    "a previous page's nextCursor: the page after it (startIndex is ignored)",
                ),
                *_PAGING,
            ],
        ),
        "post": _op(
            "Create a manual contact",
            {"201": _json("The contact", "Contact")},
            body="ContactInput",
            errors=("413",),
        ),
    },
    "/contacts.vcf": {
        "get": _op(
            "The whole address book as vCard 4.0 (streamed)",
            {"200": {"description": "vCards", "content": {VCARD: {"schema": _STRING}}}},
        ),
    },
    "/contacts/resync": {
        "post": _op(
            '"Update all synchronized users": a job',
            {"202": _json("The queued (or already unfinished) job", "Job")},
        ),
    },
    "/contacts/{contact_id}": {
        "parameters": [_path("contact_id")],
        "get": _op(
            "One contact (with a .vcf suffix: its vCard)",
            {
                "200": {
                    "description": "The contact",
                    "content": {JSON: {"schema": _ref("Contact")}, VCARD: {"schema": _STRING}},
                }
            },
            errors=("404",),
        ),
        "put": _op(
            "Replace every field of a contact",
            {"200": _json("The contact", "Contact")},
            body="ContactInput",
            errors=_WRITE_ERRORS,
        ),
        "patch": _op(
            "Change the named fields of a contact",
            {"200": _json("The contact", "Contact")},
            body="ContactInput",
            errors=_WRITE_ERRORS,
        ),
        "delete": _op("Delete a contact", _NO_CONTENT, errors=("404", "409")),
    },
    "/jobs/{job_id}": {
        "parameters": [_path("job_id")],
        "get": _op("A job's progress", {"200": _json("The job", "Job")}, errors=("404",)),
    },
    "/sources": {
        "get": _op(
            "Every source (LDAP ones with their last run)", {"200": _json("", "SourceList")}
        ),
    },
    "/sources/{name}": {
        "parameters": [_path("name")],
        "patch": _op(
            "Set a source's sync scope (its users that follow it are decided again)"
            " and, for a SCIM source, its deletion guard",
            {"200": _json("The source", "Source")},
            body="SourcePatch",
            errors=("404", "413"),
        ),
    },
    "/sources/{name}/scope/preview": {
        "parameters": [_path("name")],
        "post": _op(
            "Preview a sync scope change: who would gain or lose a contact (changes nothing)",
            {"200": _json("The users the change would switch", "ScopePreview")},
            body="SourceScope",
            errors=("404", "413"),
        ),
    },
    "/sources/{name}/sync": {
        "parameters": [_path("name")],
        "post": _op(
            "Poll (or reconcile) an LDAP source now",
            {"202": _json("The queued run", "Run")},
            errors=("404", "409"),
        ),
    },
    "/sources/{name}/runs": {
        "parameters": [_path("name")],
        "get": _op(
            "An LDAP source's runs, newest first",
            {"200": _json("The runs", "RunList")},
            params=[_query("count", {"type": "integer", "minimum": 1}, "how many runs")],
            errors=("404",),
        ),
    },
    "/sources/{name}/runs/{run_id}/confirm": {
        "parameters": [_path("name"), _path("run_id", _INT)],
        "post": _op(
            "Allow a blocked run's deletions (a reconciliation runs now)",
            {"202": _json("The queued reconciliation", "Run")},
            errors=("404", "409"),
        ),
    },
    "/sources/{name}/held/confirm": {
        "parameters": [_path("name")],
        "post": _op(
            "Allow a SCIM source's held deletions (restorable for the grace period)",
            {"200": _json("How many", "HeldConfirmed")},
            errors=("404", "409"),
        ),
    },
    "/sources/{name}/held/reject": {
        "parameters": [_path("name")],
        "post": _op(
            "Undo a SCIM source's held deletions: the users come back",
            {"200": _json("How many", "HeldRejected")},
            errors=("404", "409"),
        ),
    },
    "/deleted": {
        "get": _op(
            "Users and contacts pending deletion (or held), newest first",
            {"200": _json("A page", "DeletedPage")},
            params=[
                _query("source", _STRING, "only this source's"),
                _query("kind", {"enum": ["user", "contact"]}, "only users or only contacts"),
                *_PAGING,
            ],
        ),
    },
    "/deleted/{deleted_id}/restore": {
        "parameters": [_path("deleted_id")],
        "post": _op(
            "Restore a deleted user with its link and contact, or a contact",
            {"200": _json("What came back", "Restored")},
            errors=("404", "409"),
        ),
    },
    "/deleted/suppressions": {
        "get": _op(
            "Users an admin deleted, which their directory's polls do not bring back",
            {"200": _json("A page", "SuppressionPage")},
            params=[_query("source", _STRING, "only this source's"), *_PAGING],
        ),
    },
    "/deleted/suppressions/{suppression_id}": {
        "parameters": [_path("suppression_id", _INT)],
        "delete": _op(
            "Lift a suppression: the directory may bring the user back",
            _NO_CONTENT,
            errors=("404",),
        ),
    },
    "/audit": {
        "get": _op(
            "The audit log, newest first",
            {"200": _json("A page of events", "AuditPage")},
            params=[
                _query("objectType", _STRING, "exact match"),
                _query("objectId", _STRING, "exact match"),
                _query("actor", _STRING, "exact match"),
                _query("action", _STRING, "a part of the action, case-insensitive"),
                *_PAGING,
            ],
        ),
    },
    "/tokens": {
        "get": _op(
            "Tokens by name, with their last use",
            {"200": _json("The tokens", "TokenList")},
            params=[_query("kind", {"enum": ["admin", "scim"]}, "only this kind")],
        ),
        "post": _op(
            "Create a token (its secret is in this answer only)",
            {"201": _json("The token and its secret", "TokenCreated")},
            body="TokenInput",
            errors=("409", "413"),
        ),
    },
    "/tokens/{token_id}": {
        "parameters": [_path("token_id", _INT)],
        "delete": _op("Revoke a token", _NO_CONTENT, errors=("404",)),
    },
    "/openapi.json": {
        "get": {
            "summary": "This description (no token needed)",
            "security": [],
            "responses": {
                "200": {
                    "description": "OpenAPI 3.1",
                    "content": {JSON: {"schema": {"type": "object"}}},
                }
            },
        },
    },
}

# The optional request bodies: these operations may be sent without one.
PATHS["/sources/{name}/sync"]["post"]["requestBody"] = {
    "required": False,
    "content": {JSON: {"schema": _ref("SourceSyncRequest")}},
}


def _version() -> str:
    try:
        return metadata.version("ldap-scim-connector")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def description() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "LDAP/SCIM provisioning connector: admin API",
            "version": _version(),
            "description": "Users from identity providers (SCIM) and LDAP directories, the "
            "field mapping, and the read-only contacts it drives. Errors are "
            '`{"error", "message", "field"?}`.',
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"consoleSession": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An admin token (connector token create --admin).",
                },
                "consoleSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The console's session; then every request other than "
                    "GET/HEAD/OPTIONS carries X-CSRF-Token.",
                },
            },
        },
    }


@openapi.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(description())
