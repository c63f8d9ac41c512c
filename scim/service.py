"""SCIM 2.0 (RFC 7644) over any ResourceStore, without a web framework.

The service owns the protocol: paging and sorting parameters, ETags and
If-Match, projection, PATCH and PUT semantics, Bulk, discovery documents, error
bodies. A web adapter (see :mod:`scim.flask_adapter`) turns each HTTP request
into one call here and the :class:`Reply` back into a response; storage is
reached only through the stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from scim import schemas
from scim.bulk import BulkProcessor
from scim.errors import ScimError, error_body
from scim.filter import parse
from scim.input_limits import (
    InputRefused,
    NoSuchPath,
    UnstorableText,
    check_url,
    clamped_int,
    load_json,
)
from scim.member_patch import member_changes
from scim.patch import apply_patch
from scim.paths import ResolvedPath, resolve_path
from scim.projection import parse_attribute_list, project
from scim.resource import validate
from scim.schemas import ResourceType
from scim.store import Page, Query, Resource, ResourceStore

SCIM_JSON = "application/scim+json"
Authenticator = Callable[[str], Any]
Params = Mapping[str, Any]

# Discovery documents describe the service, not its data: no token needed to read them.
PUBLIC_ENDPOINTS = frozenset({"ServiceProviderConfig", "ResourceTypes", "Schemas"})


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


@dataclass(frozen=True)
class Call:
    """Who asks, and where the service is mounted (for ``location`` and ``$ref``)."""

    caller: Any
    base_url: str  # absolute, without a trailing slash: https://host/scim/v2


@dataclass(frozen=True)
class Reply:
    """What an adapter sends back: ``body`` is JSON-ready, or None for an empty answer."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def error_reply(exc: ScimError) -> Reply:
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if exc.status == 401 else {}
    return Reply(error_body(exc), exc.status, headers)


def bearer_caller(authorization: str, authenticate: Authenticator) -> Any:
    """The caller named by an ``Authorization: Bearer …`` header; ScimError 401 otherwise."""
    scheme, _, token = authorization.partition(" ")
    caller = authenticate(token.strip()) if scheme.lower() == "bearer" and token else None
    if caller is None:
        raise ScimError("a valid bearer token is required", status=401)
    return caller


def parse_json(text: str | bytes) -> Any:
    """A request body as JSON under :mod:`scim.input_limits`: a missing, malformed or
    too deeply nested one is ``invalidSyntax``; a string no database can store
    (NUL, lone surrogate) is ``invalidValue`` naming the attribute."""
    try:
        return load_json(text)
    except UnstorableText as exc:
        raise ScimError(exc.message, scim_type="invalidValue") from exc
    except InputRefused as exc:
        raise ScimError(exc.message, scim_type="invalidSyntax") from exc


def refuse_unstorable_request(
    route_values: Iterable[Any], params: Iterable[tuple[str, str]]
) -> None:
    """The URL under :func:`scim.input_limits.check_url`: an id holding NUL or a lone
    surrogate names nothing that can exist (404); such a query parameter is 400."""
    try:
        check_url(route_values, params)
    except NoSuchPath as exc:
        raise ScimError(exc.message, status=404) from exc
    except InputRefused as exc:
        raise ScimError(exc.message, scim_type="invalidValue") from exc


def _complete_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A ListResponse holding every item (discovery documents are never paged)."""
    return {
        "schemas": [schemas.LIST_RESPONSE],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }


def _int_param(value: Any, name: str, default: int, minimum: int) -> int:
    if value is None or value == "":
        return default
    try:
        return clamped_int(value, name, minimum=minimum)
    except InputRefused as exc:
        raise ScimError(exc.message, scim_type="invalidValue") from exc


def sort_key(resource_type: ResourceType, sort_by: Any) -> ResolvedPath | None:
    """The attribute ``sortBy`` names on ``resource_type`` (RFC 7644 §3.4.2.3), or None.

    Short and fully qualified names resolve alike. A multi-valued attribute sorts
    by its ``value``; any other complex attribute must be named down to a
    sub-attribute. None means the resource type has no such attribute; malformed
    text is refused (``invalidValue``).
    """
    if not isinstance(sort_by, str):
        raise ScimError("sortBy must be an attribute name", scim_type="invalidValue")
    try:
        resolved = resolve_path(resource_type, sort_by)
    except ScimError as exc:
        raise ScimError(f"sortBy: {exc.message}", scim_type="invalidValue") from exc
    if resolved is None or resolved.sub is not None or resolved.attribute.type != "complex":
        return resolved
    value = resolved.attribute.sub("value")
    if not resolved.attribute.multi_valued or value is None:
        raise ScimError(
            f"sortBy {sort_by!r} names a complex attribute; name one of its sub-attributes",
            scim_type="invalidValue",
        )
    return replace(resolved, sub=value)


def _unknown_sort(sort_by: str) -> ScimError:
    return ScimError(f"cannot sort by unknown attribute {sort_by!r}", scim_type="invalidValue")


def search_params(body: Any) -> dict[str, Any]:
    """A POSTed SearchRequest as the query parameters of the equivalent GET."""
    if not isinstance(body, dict):
        raise ScimError("a SearchRequest must be an object", scim_type="invalidSyntax")
    params = dict(body)
    for key in ("filter", "sortBy", "sortOrder"):
        if params.get(key) is not None and not isinstance(params[key], str):
            scim_type = "invalidFilter" if key == "filter" else "invalidValue"
            raise ScimError(f"{key} must be a string", scim_type=scim_type)
    for key in ("attributes", "excludedAttributes"):
        value = params.get(key)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            params[key] = ",".join(value)
        elif value is not None and not isinstance(value, str):
            raise ScimError(f"{key} must be a list of attribute names", scim_type="invalidValue")
    return params


class ScimService:
    """The request handlers of one SCIM service: its endpoints and its settings."""

    def __init__(
        self, *, users: ResourceStore, groups: ResourceStore, config: ServiceConfig | None = None
    ) -> None:
        self.endpoints = {
            "Users": Endpoint(schemas.USER, users),
            "Groups": Endpoint(schemas.GROUP, groups),
        }
        self.config = config or ServiceConfig()
        self.bulk_processor = BulkProcessor(self)

    # ------------------------------------------------------------ helpers

    def endpoint(self, kind: str) -> Endpoint:
        if kind in PUBLIC_ENDPOINTS:
            raise ScimError("The method is not allowed for the requested URL.", status=405)
        found = self.endpoints.get(kind)
        if found is None:
            raise ScimError(f"no resource type at /{kind}", status=404)
        return found

    @staticmethod
    def location(call: Call, endpoint: Endpoint, resource_id: str) -> str:
        return f"{call.base_url}{endpoint.resource_type.endpoint}/{resource_id}"

    def finish(self, call: Call, endpoint: Endpoint, resource: Resource) -> Resource:
        meta = dict(resource.get("meta") or {})
        meta["resourceType"] = endpoint.resource_type.name
        meta["location"] = self.location(call, endpoint, resource["id"])
        out = {**resource, "meta": meta}
        for attr, default_type in (("members", "User"), ("groups", "Group")):
            if isinstance(out.get(attr), list):
                out[attr] = [_with_ref(call, item, default_type) for item in out[attr]]
        return out

    def shaped(
        self, call: Call, endpoint: Endpoint, resource: Resource, params: Params
    ) -> Resource:
        return project(
            self.finish(call, endpoint, resource),
            endpoint.resource_type,
            attributes=parse_attribute_list(params.get("attributes")),
            excluded=parse_attribute_list(params.get("excludedAttributes")),
        )

    def single(
        self,
        call: Call,
        endpoint: Endpoint,
        resource: Resource,
        params: Params,
        status: int = 200,
    ) -> Reply:
        headers = {}
        version = (resource.get("meta") or {}).get("version")
        if version:
            headers["ETag"] = version
        if status == 201:
            headers["Location"] = self.location(call, endpoint, resource["id"])
        return Reply(self.shaped(call, endpoint, resource, params), status, headers)

    # ------------------------------------------------------------ queries

    def query(self, params: Params) -> Query:
        text = params.get("filter")
        if text is not None and not isinstance(text, str):
            raise ScimError("filter must be a string", scim_type="invalidFilter")
        if not isinstance(params.get("sortBy") or "", str):
            raise ScimError("sortBy must be a string", scim_type="invalidValue")
        start = _int_param(params.get("startIndex"), "startIndex", 1, 1)
        count = _int_param(params.get("count"), "count", self.config.default_count, 0)
        count = min(count, self.config.max_results)
        order = params.get("sortOrder") or "ascending"
        if str(order).lower() not in {"ascending", "descending"}:
            raise ScimError("sortOrder must be ascending or descending", scim_type="invalidValue")
        return Query(
            filter=parse(text) if text else None,
            descending=str(order).lower() == "descending",
            start_index=start,
            count=count,
        )

    def list_reply(
        self, call: Call, pages: list[tuple[Endpoint, Page]], query: Query, params: Params
    ) -> Reply:
        resources = [self.shaped(call, e, r, params) for e, page in pages for r in page.resources]
        return Reply(
            {
                "schemas": [schemas.LIST_RESPONSE],
                "totalResults": sum(p.total for _, p in pages),
                "startIndex": query.start_index,
                "itemsPerPage": len(resources),
                "Resources": resources,
            }
        )

    def search(self, call: Call, endpoint: Endpoint, params: Params) -> Reply:
        query = self.query(params)
        text = params.get("sortBy")
        if text:
            key = sort_key(endpoint.resource_type, text)
            if key is None:
                raise _unknown_sort(text)
            query = replace(query, sort_by=key)
        page = endpoint.store.search(call.caller, query)
        return self.list_reply(call, [(endpoint, page)], query, params)

    def search_all(self, call: Call, params: Params) -> Reply:
        """Root-level search (RFC 7644 §3.4.3): every resource type, one result list."""
        query = self.query(params)
        text = params.get("sortBy")
        # Each resource type sorts by the attribute if it has it, else in its own order.
        keys = {
            n: sort_key(e.resource_type, text) if text else None for n, e in self.endpoints.items()
        }
        if text and not any(keys.values()):
            raise _unknown_sort(text)
        pages: list[tuple[Endpoint, Page]] = []
        skip, room = query.start_index - 1, query.count
        for name, endpoint in self.endpoints.items():
            counted = endpoint.store.search(call.caller, Query(query.filter, None, False, 1, 0))
            take = min(room, max(0, counted.total - skip))
            if take:
                sub = Query(query.filter, keys[name], query.descending, skip + 1, take)
                page = endpoint.store.search(call.caller, sub)
                pages.append((endpoint, Page(page.resources, counted.total)))
            else:
                pages.append((endpoint, Page([], counted.total)))
            skip = max(0, skip - counted.total)
            room -= take
        return self.list_reply(call, pages, query, params)

    def get(
        self,
        call: Call,
        endpoint: Endpoint,
        resource_id: str,
        params: Params,
        if_none_match: str | None,
    ) -> Reply:
        resource = endpoint.store.get(call.caller, resource_id)
        version = (resource.get("meta") or {}).get("version")
        if version and if_none_match == version:
            return Reply(None, 304, {"ETag": version})
        return self.single(call, endpoint, resource, params)

    # ------------------------------------------------------------ writes

    def post(self, call: Call, endpoint: Endpoint, body: Any, params: Params) -> Reply:
        return self.single(call, endpoint, self.create(call, endpoint, body), params, 201)

    def put(
        self,
        call: Call,
        endpoint: Endpoint,
        resource_id: str,
        body: Any,
        if_match: str | None,
        params: Params,
    ) -> Reply:
        resource = self.replace(call, endpoint, resource_id, body, if_match)
        return self.single(call, endpoint, resource, params)

    def patch(
        self,
        call: Call,
        endpoint: Endpoint,
        resource_id: str,
        body: Any,
        if_match: str | None,
        params: Params,
    ) -> Reply:
        patch_members = getattr(endpoint.store, "patch_members", None)
        changes = member_changes(body) if patch_members is not None else None
        if patch_members is not None and changes is not None:
            # Only members added or removed: the store writes those rows (scim/member_patch.py),
            # and reads the member list only when the answer shows it. Asked for nothing
            # (no attributes/excludedAttributes), the answer is 204 No Content (RFC 7644
            # §3.5.2 allows it; Entra ID expects it): a one-member change of a large group
            # then costs the same as of a small one.
            if not params.get("attributes") and not params.get("excludedAttributes"):
                patch_members(call.caller, resource_id, changes, if_match, None)
                return Reply(None, 204)
            with_members = self._shows_members(endpoint, params)
            resource = patch_members(call.caller, resource_id, changes, if_match, with_members)
        else:
            resource = self.modify(call, endpoint, resource_id, body, if_match)
        return self.single(call, endpoint, resource, params)

    @staticmethod
    def _shows_members(endpoint: Endpoint, params: Params) -> bool:
        """Whether an answer shaped by ``attributes``/``excludedAttributes`` lists members."""
        probe = {"id": "", "members": [{"value": ""}]}
        try:
            shown = project(
                probe,
                endpoint.resource_type,
                attributes=parse_attribute_list(params.get("attributes")),
                excluded=parse_attribute_list(params.get("excludedAttributes")),
            )
        except ScimError:
            return True  # the answer refuses the parameters after the write, as for any PATCH
        return "members" in shown

    def delete(
        self, call: Call, endpoint: Endpoint, resource_id: str, if_match: str | None
    ) -> Reply:
        endpoint.store.delete(call.caller, resource_id, if_match)
        return Reply(None, 204)

    def bulk(self, call: Call, body: Any) -> Reply:
        return Reply(self.bulk_processor.run(call, body))

    # The writes as resources, shared by the single requests above and by Bulk.

    def create(self, call: Call, endpoint: Endpoint, body: Any) -> Resource:
        data = validate(endpoint.resource_type, body)
        return endpoint.store.create(call.caller, data)

    def replace(
        self, call: Call, endpoint: Endpoint, resource_id: str, body: Any, if_match: str | None
    ) -> Resource:
        def transform(current: Resource) -> Resource:
            if isinstance(body, dict) and body.get("id") not in (None, current["id"]):
                raise ScimError("id cannot be changed", scim_type="mutability")
            return validate(endpoint.resource_type, body, existing=current)

        return endpoint.store.update(call.caller, resource_id, transform, if_match)

    def modify(
        self, call: Call, endpoint: Endpoint, resource_id: str, body: Any, if_match: str | None
    ) -> Resource:
        """PATCH: the operations in ``body`` applied to the current resource, then validated."""

        def transform(current: Resource) -> Resource:
            patched = apply_patch(current, body, endpoint.resource_type)
            return validate(endpoint.resource_type, patched, existing=current)

        return endpoint.store.update(call.caller, resource_id, transform, if_match)

    # ------------------------------------------------------------ discovery

    def service_provider_config(self, base_url: str) -> Reply:
        c = self.config
        document: dict[str, Any] = {"schemas": [schemas.SERVICE_PROVIDER_CONFIG_URN]}
        if c.documentation_uri:
            document["documentationUri"] = c.documentation_uri
        return Reply(
            document
            | {
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
                    "location": f"{base_url}/ServiceProviderConfig",
                },
            }
        )

    @staticmethod
    def resource_types(base_url: str) -> Reply:
        return Reply(_complete_list([rt.to_json(base_url) for rt in schemas.RESOURCE_TYPES]))

    @staticmethod
    def resource_type(name: str, base_url: str) -> Reply:
        found = next((rt for rt in schemas.RESOURCE_TYPES if rt.name == name), None)
        if found is None:
            raise ScimError(f"no resource type {name!r}", status=404)
        return Reply(found.to_json(base_url))

    @staticmethod
    def schema_list(base_url: str) -> Reply:
        return Reply(_complete_list([s.to_json(base_url) for s in schemas.SCHEMAS]))

    @staticmethod
    def schema(schema_id: str, base_url: str) -> Reply:
        found = next((x for x in schemas.SCHEMAS if x.id == schema_id), None)
        if found is None:
            raise ScimError(f"no schema {schema_id!r}", status=404)
        return Reply(found.to_json(base_url))


def _with_ref(call: Call, item: Any, default_type: str) -> Any:
    """``$ref`` is the member's URI (RFC 7643 §4.2): absolute, from this service's base."""
    if not isinstance(item, dict) or not item.get("value"):
        return item
    kind = item.get("type") if item.get("type") in ("User", "Group") else default_type
    return {**item, "$ref": f"{call.base_url}/{kind}s/{item['value']}"}
