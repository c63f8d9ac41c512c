"""A Flask blueprint serving SCIM 2.0 (RFC 7644) over any ResourceStore.

The blueprint owns the protocol: authentication hand-off, content types,
paging and sorting parameters, ETags and If-Match, projection, PATCH and PUT
semantics, Bulk, error bodies. Storage is reached only through the stores.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from scim import schemas
from scim.errors import ScimError
from scim.filter import parse
from scim.patch import apply_patch
from scim.projection import parse_attribute_list, project
from scim.resource import validate
from scim.schemas import ResourceType
from scim.store import Page, Query, ResourceStore

SCIM_JSON = "application/scim+json"
log = logging.getLogger(__name__)
Authenticator = Callable[[str], Any]


@dataclass(frozen=True)
class ServiceConfig:
    max_results: int = 1000
    default_count: int = 100
    bulk_max_operations: int = 1000
    bulk_max_payload: int = 1_048_576
    documentation_uri: str = ""


@dataclass(frozen=True)
class Endpoint:
    resource_type: ResourceType
    store: ResourceStore


def scim_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = "" if body is None else json.dumps(body, ensure_ascii=False)
    response = Response(text, status=status, content_type=SCIM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def error_body(exc: ScimError) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [schemas.ERROR], "status": str(exc.status)}
    if exc.scim_type:
        body["scimType"] = exc.scim_type
    body["detail"] = exc.message
    return body


def _complete_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A ListResponse holding every item (discovery documents are never paged)."""
    return {
        "schemas": [schemas.LIST_RESPONSE],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }


def _discovery_document(found: Any, what: str, base_url: str) -> Response:
    if found is None:
        raise ScimError(f"no {what}", status=404)
    return scim_response(found.to_json(base_url))


def _json_body() -> Any:
    if not request.get_data():
        raise ScimError("the request has no body", scim_type="invalidSyntax")
    try:
        return json.loads(request.get_data(as_text=True))
    except ValueError as exc:
        raise ScimError(f"the body is not valid JSON: {exc}", scim_type="invalidSyntax") from exc


def _int_param(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ScimError(f"{name} must be an integer", scim_type="invalidValue")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ScimError(f"{name} must be an integer", scim_type="invalidValue") from exc


class _Protocol:
    """The request handlers, bound to the endpoints and settings of one blueprint."""

    def __init__(
        self, endpoints: dict[str, Endpoint], config: ServiceConfig, url_prefix: str
    ) -> None:
        self.endpoints = endpoints
        self.config = config
        self.url_prefix = url_prefix

    # ------------------------------------------------------------ helpers

    def base_url(self) -> str:
        return request.url_root.rstrip("/") + self.url_prefix

    def location(self, endpoint: Endpoint, resource_id: str) -> str:
        return f"{self.base_url()}{endpoint.resource_type.endpoint}/{resource_id}"

    def finish(self, endpoint: Endpoint, resource: dict[str, Any]) -> dict[str, Any]:
        meta = dict(resource.get("meta") or {})
        meta["resourceType"] = endpoint.resource_type.name
        meta["location"] = self.location(endpoint, resource["id"])
        out = {**resource, "meta": meta}
        for attr, default_type in (("members", "User"), ("groups", "Group")):
            if isinstance(out.get(attr), list):
                out[attr] = [self.with_ref(item, default_type) for item in out[attr]]
        return out

    def with_ref(self, item: Any, default_type: str) -> Any:
        """``$ref`` is the member's URI (RFC 7643 §4.2): absolute, from this service's base."""
        if not isinstance(item, dict) or not item.get("value"):
            return item
        kind = item.get("type") if item.get("type") in ("User", "Group") else default_type
        return {**item, "$ref": f"{self.base_url()}/{kind}s/{item['value']}"}

    def shaped(
        self, endpoint: Endpoint, resource: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        return project(
            self.finish(endpoint, resource),
            endpoint.resource_type,
            attributes=parse_attribute_list(params.get("attributes")),
            excluded=parse_attribute_list(params.get("excludedAttributes")),
        )

    def single(self, endpoint: Endpoint, resource: dict[str, Any], status: int = 200) -> Response:
        headers = {}
        version = (resource.get("meta") or {}).get("version")
        if version:
            headers["ETag"] = version
        if status == 201:
            headers["Location"] = self.location(endpoint, resource["id"])
        return scim_response(self.shaped(endpoint, resource, request.args), status, headers)

    # ------------------------------------------------------------ queries

    def query(self, params: dict[str, Any]) -> Query:
        text = params.get("filter")
        start = max(1, _int_param(params.get("startIndex"), "startIndex", 1))
        count = _int_param(params.get("count"), "count", self.config.default_count)
        count = min(max(0, count), self.config.max_results)
        order = params.get("sortOrder") or "ascending"
        if str(order).lower() not in {"ascending", "descending"}:
            raise ScimError("sortOrder must be ascending or descending", scim_type="invalidValue")
        return Query(
            filter=parse(text) if text else None,
            sort_by=params.get("sortBy") or None,
            descending=str(order).lower() == "descending",
            start_index=start,
            count=count,
        )

    def list_response(
        self, pages: list[tuple[Endpoint, Page]], query: Query, params: dict[str, Any]
    ) -> Response:
        resources = [self.shaped(e, r, params) for e, page in pages for r in page.resources]
        return scim_response(
            {
                "schemas": [schemas.LIST_RESPONSE],
                "totalResults": sum(p.total for _, p in pages),
                "startIndex": query.start_index,
                "itemsPerPage": len(resources),
                "Resources": resources,
            }
        )

    def search(self, endpoint: Endpoint, params: dict[str, Any]) -> Response:
        query = self.query(params)
        return self.list_response(
            [(endpoint, endpoint.store.search(g.scim_caller, query))], query, params
        )

    def search_all(self, params: dict[str, Any]) -> Response:
        """Root-level search (RFC 7644 §3.4.3): every resource type, one result list."""
        query = self.query(params)
        pages: list[tuple[Endpoint, Page]] = []
        skip, room = query.start_index - 1, query.count
        for endpoint in self.endpoints.values():
            counted = endpoint.store.search(g.scim_caller, Query(query.filter, None, False, 1, 0))
            take = min(room, max(0, counted.total - skip))
            if take:
                sub = Query(query.filter, query.sort_by, query.descending, skip + 1, take)
                page = endpoint.store.search(g.scim_caller, sub)
                pages.append((endpoint, Page(page.resources, counted.total)))
            else:
                pages.append((endpoint, Page([], counted.total)))
            skip = max(0, skip - counted.total)
            room -= take
        return self.list_response(pages, query, params)

    @staticmethod
    def search_params(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ScimError("a SearchRequest must be an object", scim_type="invalidSyntax")
        params = dict(body)
        for key in ("attributes", "excludedAttributes"):
            if isinstance(params.get(key), list):
                params[key] = ",".join(params[key])
        return params

    # ------------------------------------------------------------ writes

    def create(self, endpoint: Endpoint, body: Any) -> dict[str, Any]:
        data = validate(endpoint.resource_type, body)
        return endpoint.store.create(g.scim_caller, data)

    def replace(
        self, endpoint: Endpoint, resource_id: str, body: Any, if_match: str | None
    ) -> dict[str, Any]:
        def transform(current: dict[str, Any]) -> dict[str, Any]:
            if isinstance(body, dict) and body.get("id") not in (None, current["id"]):
                raise ScimError("id cannot be changed", scim_type="mutability")
            return validate(endpoint.resource_type, body, existing=current)

        return endpoint.store.update(g.scim_caller, resource_id, transform, if_match)

    def patch(
        self, endpoint: Endpoint, resource_id: str, body: Any, if_match: str | None
    ) -> dict[str, Any]:
        def transform(current: dict[str, Any]) -> dict[str, Any]:
            patched = apply_patch(current, body, endpoint.resource_type)
            return validate(endpoint.resource_type, patched, existing=current)

        return endpoint.store.update(g.scim_caller, resource_id, transform, if_match)

    # ------------------------------------------------------------ discovery

    def service_provider_config(self) -> dict[str, Any]:
        c = self.config
        document: dict[str, Any] = {"schemas": [schemas.SERVICE_PROVIDER_CONFIG_URN]}
        if c.documentation_uri:
            document["documentationUri"] = c.documentation_uri
        return document | {
            "patch": {"supported": True},
            "bulk": {
                "supported": True,
                "maxOperations": c.bulk_max_operations,
                "maxPayloadSize": c.bulk_max_payload,
            },
            "filter": {"supported": True, "maxResults": c.max_results},
            "changePassword": {"supported": False},
            "sort": {"supported": True},
            "etag": {"supported": True},
            "authenticationSchemes": [
                {
                    "type": "oauthbearertoken",
                    "name": "Bearer token",
                    "description": "A per-source bearer token: connector token create "
                    "--source NAME",
                    "primary": True,
                }
            ],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": f"{self.base_url()}/ServiceProviderConfig",
            },
        }


def create_blueprint(
    *,
    users: ResourceStore,
    groups: ResourceStore,
    authenticate: Authenticator,
    config: ServiceConfig | None = None,
    name: str = "scim",
    url_prefix: str = "/scim/v2",
) -> Blueprint:
    """The SCIM service for the given stores; ``authenticate`` maps a bearer token to a caller."""
    from scim.bulk import BulkProcessor

    config = config or ServiceConfig()
    endpoints = {
        "Users": Endpoint(schemas.USER, users),
        "Groups": Endpoint(schemas.GROUP, groups),
    }
    protocol = _Protocol(endpoints, config, url_prefix)
    bp = Blueprint(name, __name__, url_prefix=url_prefix)
    bulk = BulkProcessor(protocol, endpoints, config)

    @bp.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        return scim_response(
            error_body(ScimError(exc.description or exc.name, status=status)), status
        )

    @bp.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error in a SCIM request")
        return scim_response(
            error_body(ScimError("internal error; see the server log", status=500)), 500
        )

    @bp.errorhandler(ScimError)
    def _scim_error(exc: ScimError) -> Response:
        headers = {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="scim"'
        return scim_response(error_body(exc), exc.status, headers)

    public = {"ServiceProviderConfig", "ResourceTypes", "Schemas"}

    @bp.before_request
    def _authenticate() -> None:
        # Discovery documents describe the service, not its data: no token needed.
        first = request.path[len(url_prefix) :].strip("/").split("/", 1)[0]
        if request.method == "GET" and first in public:
            return
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        caller = authenticate(token.strip()) if scheme.lower() == "bearer" and token else None
        if caller is None:
            raise ScimError("a valid bearer token is required", status=401)
        g.scim_caller = caller

    def endpoint_of(kind: str) -> Endpoint:
        if kind in public:
            raise MethodNotAllowed(valid_methods=["GET"])
        found = endpoints.get(kind)
        if found is None:
            raise ScimError(f"no resource type at /{kind}", status=404)
        return found

    @bp.get("/ServiceProviderConfig")
    def service_provider_config() -> Response:
        return scim_response(protocol.service_provider_config())

    @bp.get("/ResourceTypes")
    def resource_types() -> Response:
        items = [rt.to_json(protocol.base_url()) for rt in schemas.RESOURCE_TYPES]
        return scim_response(_complete_list(items))

    @bp.get("/ResourceTypes/<name>")
    def resource_type(name: str) -> Response:
        found = next((rt for rt in schemas.RESOURCE_TYPES if rt.name == name), None)
        return _discovery_document(found, f"resource type {name!r}", protocol.base_url())

    @bp.get("/Schemas")
    def schema_list() -> Response:
        items = [s.to_json(protocol.base_url()) for s in schemas.SCHEMAS]
        return scim_response(_complete_list(items))

    @bp.get("/Schemas/<schema_id>")
    def schema(schema_id: str) -> Response:
        found = next((x for x in schemas.SCHEMAS if x.id == schema_id), None)
        return _discovery_document(found, f"schema {schema_id!r}", protocol.base_url())

    @bp.post("/.search")
    def search_root() -> Response:
        return protocol.search_all(protocol.search_params(_json_body()))

    @bp.post("/Bulk")
    def bulk_request() -> Response:
        if request.content_length and request.content_length > config.bulk_max_payload:
            raise ScimError("the bulk request is larger than maxPayloadSize", status=413)
        return scim_response(bulk.run(_json_body()))

    @bp.get("/<kind>")
    def list_resources(kind: str) -> Response:
        return protocol.search(endpoint_of(kind), request.args)

    @bp.post("/<kind>/.search")
    def search_resources(kind: str) -> Response:
        return protocol.search(endpoint_of(kind), protocol.search_params(_json_body()))

    @bp.post("/<kind>")
    def create_resource(kind: str) -> Response:
        endpoint = endpoint_of(kind)
        return protocol.single(endpoint, protocol.create(endpoint, _json_body()), 201)

    @bp.get("/<kind>/<resource_id>")
    def get_resource(kind: str, resource_id: str) -> Response:
        endpoint = endpoint_of(kind)
        resource = endpoint.store.get(g.scim_caller, resource_id)
        version = (resource.get("meta") or {}).get("version")
        if version and request.headers.get("If-None-Match") == version:
            return Response(status=304, headers={"ETag": version})
        return protocol.single(endpoint, resource)

    @bp.put("/<kind>/<resource_id>")
    def replace_resource(kind: str, resource_id: str) -> Response:
        endpoint = endpoint_of(kind)
        resource = protocol.replace(
            endpoint, resource_id, _json_body(), request.headers.get("If-Match")
        )
        return protocol.single(endpoint, resource)

    @bp.patch("/<kind>/<resource_id>")
    def patch_resource(kind: str, resource_id: str) -> Response:
        endpoint = endpoint_of(kind)
        resource = protocol.patch(
            endpoint, resource_id, _json_body(), request.headers.get("If-Match")
        )
        return protocol.single(endpoint, resource)

    @bp.delete("/<kind>/<resource_id>")
    def delete_resource(kind: str, resource_id: str) -> Response:
        endpoint_of(kind).store.delete(g.scim_caller, resource_id, request.headers.get("If-Match"))
        return Response(status=204)

    return bp
