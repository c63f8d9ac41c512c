"""A source's sync scope: whether its users get contacts (true, false or a SCIM filter).

The connector's SCIM extension attribute ``syncToContact``, when an identity
provider sets it, overrides the scope for that user. An admin's explicit switch
(``PATCH /api/v1/users/<id>``) overrides both until the admin returns the user to
"follow the source" (``follows_source``).
"""

from __future__ import annotations

from typing import Any

from connector.db.models import Source, User
from connector.errors import InvalidInput
from scim.errors import ScimError
from scim.filter import CORE_USER_URN, And, AttrRef, Expr, Not, Or, matches, parse
from scim.schemas import CONNECTOR_USER

Scope = bool | str


def validated_scope(value: Any) -> Scope:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parse(value)
        except ScimError as exc:
            raise InvalidInput(
                f"syncScope is not a valid SCIM filter: {exc.message}", field="syncScope"
            ) from exc
        return value.strip()
    raise InvalidInput("syncScope must be true, false or a SCIM filter", field="syncScope")


def stored_scope(stored: dict[str, Any] | None) -> Scope:
    """A source's scope as ``sources.sync_scope`` stores it (false when none is set)."""
    return (stored or {}).get("scope", False)


def decide(source: Source, user: dict[str, Any]) -> bool:
    """syncToContact for a user of ``source`` as the IdP sent it (with ``groups``)."""
    return decide_scope(stored_scope(source.sync_scope), user)


def idp_choice(user: dict[str, Any]) -> bool | None:
    """The IdP's own ``syncToContact`` for this user (the extension attribute), if it set one."""
    explicit = (user.get(CONNECTOR_USER) or {}).get("syncToContact")
    return explicit if isinstance(explicit, bool) else None


def decide_scope(scope: Scope, user: dict[str, Any]) -> bool:
    """syncToContact for a user under ``scope`` (a source's, or one being previewed)."""
    explicit = idp_choice(user)
    if explicit is not None:
        return explicit
    if isinstance(scope, str):
        return matches(parse(scope), user)
    return bool(scope)


def reads_resource(scope: Scope) -> bool:
    """Whether :func:`decide_scope` reads the user's attributes and groups under ``scope``
    (a filter), or only the IdP's own ``syncToContact`` (a scope of true or false)."""
    return isinstance(scope, str)


def reads_groups(scope: Scope) -> bool:
    """Whether a user's groups can change what :func:`decide_scope` gives under ``scope``:
    a filter that names the ``groups`` attribute. Under any other scope a user who joins
    or leaves a group keeps the decision it had (rescope.members_changed)."""
    return isinstance(scope, str) and any(_is_groups(ref) for ref in _refs(parse(scope)))


def _refs(expr: Expr) -> list[AttrRef]:
    """The attributes a filter reads (of ``attr[...]``, the attribute itself: the inner
    filter reads its sub-attributes)."""
    if isinstance(expr, And | Or):
        return [*_refs(expr.left), *_refs(expr.right)]
    if isinstance(expr, Not):
        return _refs(expr.expr)
    return [expr.ref]  # a comparison, a presence, a value path


def _is_groups(ref: AttrRef) -> bool:
    return ref.attr.lower() == "groups" and (
        ref.uri is None or ref.uri.lower() == CORE_USER_URN.lower()
    )


def follows_source(user: User) -> bool:
    """Whether the source decides this user's switch (no admin override)."""
    return not user.sync_set_by_admin


def set_by(user: Any, *, local: bool) -> str:
    """Who set a user's switch, as the admin API says it: "admin" or "source".

    A local user's switch is always the admin's (its source is the admin)."""
    return "admin" if local or getattr(user, "sync_set_by_admin", False) else "source"
