"""SCIM Bulk (RFC 7644 §3.7): many operations in one request, each its own transaction.

The operations run through the same service methods as single requests, for the
caller of the Bulk request, which the adapter passes in with the body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scim import schemas
from scim.errors import ScimError, error_body

if TYPE_CHECKING:
    from scim.service import Call, Endpoint, ScimService

BULK_ID_PREFIX = "bulkId:"


def _resolve(value: Any, created: dict[str, str]) -> Any:
    """Replace ``bulkId:x`` references with the ids of resources created earlier."""
    if isinstance(value, str) and value.startswith(BULK_ID_PREFIX):
        key = value[len(BULK_ID_PREFIX) :]
        if key not in created:
            raise ScimError(
                f"bulkId {key!r} is not defined by an earlier operation",
                scim_type="invalidValue",
                status=409,
            )
        return created[key]
    if isinstance(value, list):
        return [_resolve(v, created) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, created) for k, v in value.items()}
    return value


class BulkProcessor:
    def __init__(self, service: ScimService) -> None:
        self.service = service

    def run(self, call: Call, body: Any) -> dict[str, Any]:
        max_operations = self.service.config.bulk_max_operations
        if not isinstance(body, dict) or schemas.BULK_REQUEST not in body.get("schemas", []):
            raise ScimError("a BulkRequest must list its schema", scim_type="invalidSyntax")
        operations = body.get("Operations")
        if not isinstance(operations, list):
            raise ScimError("'Operations' must be a list", scim_type="invalidSyntax")
        if len(operations) > max_operations:
            raise ScimError(
                f"{len(operations)} operations exceed maxOperations ({max_operations})",
                status=413,
            )
        fail_on_errors = body.get("failOnErrors")
        if fail_on_errors is not None and (
            not isinstance(fail_on_errors, int) or fail_on_errors < 1
        ):
            raise ScimError("'failOnErrors' must be a positive integer", scim_type="invalidValue")
        created: dict[str, str] = {}
        results: list[dict[str, Any]] = []
        errors = 0
        for operation in operations:
            result = self._one(call, operation, created)
            results.append(result)
            if int(result["status"]) >= 400:
                errors += 1
                if fail_on_errors is not None and errors >= fail_on_errors:
                    break
        return {"schemas": [schemas.BULK_RESPONSE], "Operations": results}

    def _one(self, call: Call, operation: Any, created: dict[str, str]) -> dict[str, Any]:
        method = str(operation.get("method", "")).upper() if isinstance(operation, dict) else ""
        result: dict[str, Any] = {"method": method}
        if isinstance(operation, dict) and "bulkId" in operation:
            result["bulkId"] = operation["bulkId"]
        try:
            result.update(self._execute(call, method, operation, created))
        except ScimError as exc:
            result["status"] = str(exc.status)
            result["response"] = error_body(exc)
        return result

    def _target(self, path: Any) -> tuple[Endpoint, str | None]:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ScimError("each operation needs a 'path' such as /Users", scim_type="invalidPath")
        kind, _, resource_id = path.strip("/").partition("/")
        endpoint = self.service.endpoints.get(kind)
        if endpoint is None:
            raise ScimError(f"no resource type at /{kind}", scim_type="invalidPath", status=404)
        return endpoint, resource_id or None

    def _execute(
        self, call: Call, method: str, operation: dict[str, Any], created: dict[str, str]
    ) -> dict[str, Any]:
        if method not in {"POST", "PUT", "PATCH", "DELETE"}:
            raise ScimError(f"unsupported bulk method {method!r}", scim_type="invalidSyntax")
        endpoint, resource_id = self._target(_resolve(operation.get("path"), created))
        data = _resolve(operation.get("data"), created)
        version = operation.get("version")
        if method == "POST":
            if resource_id is not None:
                raise ScimError(
                    "POST goes to a resource type, e.g. /Users", scim_type="invalidPath"
                )
            bulk_id = operation.get("bulkId")
            if not bulk_id:
                raise ScimError("POST operations need a bulkId", scim_type="invalidValue")
            resource = self.service.create(call, endpoint, data)
            created[str(bulk_id)] = resource["id"]
            return self._done(call, endpoint, resource, "201")
        if resource_id is None:
            raise ScimError(
                f"{method} needs a resource path such as /Users/{{id}}", scim_type="invalidPath"
            )
        if method == "DELETE":
            self.service.delete(call, endpoint, resource_id, version)
            return {"location": self.service.location(call, endpoint, resource_id), "status": "204"}
        if method == "PUT":
            resource = self.service.replace(call, endpoint, resource_id, data, version)
        else:
            resource = self.service.modify(call, endpoint, resource_id, data, version)
        return self._done(call, endpoint, resource, "200")

    def _done(
        self, call: Call, endpoint: Endpoint, resource: dict[str, Any], status: str
    ) -> dict[str, Any]:
        out = {"location": self.service.location(call, endpoint, resource["id"]), "status": status}
        version = (resource.get("meta") or {}).get("version")
        if version:
            out["version"] = version
        return out
