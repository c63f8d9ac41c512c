"""The one small protocol through which the SCIM endpoint reaches storage.

A store serves one resource type for the caller it is given (the principal the
endpoint's authenticator returned, opaque to this package). Updates are
expressed as a ``transform`` of the current resource, so that PUT, PATCH and
Bulk run inside the store's own transaction and version check: all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from scim.filter import Expr
from scim.paths import ResolvedPath

Resource = dict[str, Any]
Transform = Callable[[Resource], Resource]


@dataclass(frozen=True)
class Query:
    filter: Expr | None = None
    sort_by: ResolvedPath | None = None  # resolved by the service; None: the store's own order
    descending: bool = False
    start_index: int = 1  # 1-based, RFC 7644 §3.4.2.4
    count: int = 100


@dataclass(frozen=True)
class Page:
    resources: list[Resource]
    total: int


class ResourceStore(Protocol):
    def search(self, caller: Any, query: Query) -> Page: ...

    def get(self, caller: Any, resource_id: str) -> Resource:
        """The resource, or ScimError 404 when it does not exist for this caller."""
        ...

    def create(self, caller: Any, resource: Resource) -> Resource: ...

    def update(
        self, caller: Any, resource_id: str, transform: Transform, if_match: str | None
    ) -> Resource:
        """Apply ``transform`` to the current resource atomically.

        ``if_match`` is the client's ETag (e.g. ``W/"3"``) or None; a stale one
        raises ScimError 412.
        """
        ...

    def delete(self, caller: Any, resource_id: str, if_match: str | None) -> None: ...


class MemberPatchStore(ResourceStore, Protocol):
    """A store that may also offer a group PATCH that only adds or removes members
    (scim.member_patch): it writes those rows without reading the member list."""

    def patch_members(
        self,
        caller: Any,
        resource_id: str,
        changes: Any,  # scim.member_patch.MemberChanges
        if_match: str | None,
        with_members: bool | None,
    ) -> Resource | None:
        """The group after the changes, as ``update`` would leave and return it; with
        ``with_members`` false its ``members`` may be left out (the answer omits them);
        with None nothing is returned (the answer is 204 No Content)."""
        ...
