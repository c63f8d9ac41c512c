"""Why a user is (not) synchronised, and how far its contact is from the current mapping.

Asks the rules where they live: who decides the switch (:mod:`sync_scope`,
:func:`rescope.decided`), which part of a scope filter decided it
(:func:`scim.filter_explain.deciding_parts`), and what the current mapping would
write (:func:`connector.mapping.apply`). Read-only: run it in ``Context.read``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from connector.db.models import Contact, Source, User
from connector.mapping import apply
from connector.services import linking, rescope, sources, sync_scope, user_resources, users
from scim.filter import parse
from scim.filter_explain import deciding_parts


def _decided_by(source: Source, user: User, resource: dict[str, Any]) -> dict[str, Any]:
    """Who set the switch, and for the source's scope what it says now and why."""
    scope = sync_scope.stored_scope(source.sync_scope)
    if source.kind == sources.LOCAL:
        return {"by": "admin", "reason": "local"}
    if user.sync_set_by_admin:
        return {"by": "admin", "reason": "override"}
    idp = sync_scope.idp_choice(user.resource)
    if idp is not None:
        return {"by": "identityProvider", "value": idp}
    decided: dict[str, Any] = {"by": "scope", "scope": scope}
    decided["value"] = rescope.decided(scope, user, resource)
    if isinstance(scope, str):
        _, parts = deciding_parts(parse(scope), resource)
        decided["matched" if decided["value"] else "failed"] = parts
    return decided


def _sentences(user: User, decided: dict[str, Any], link: dict[str, Any]) -> list[str]:
    on = "synchronized to a contact" if user.sync_to_contact else "not synchronized"
    why = {
        "local": "a user created in the connector: the admin sets its switch",
        "override": "an admin set its switch, which the source's scope does not change",
    }
    lines = [f"{user.user_name} is {on}."]
    if decided["by"] == "admin":
        lines.append(f"Why: {why[decided['reason']]}.")
    elif decided["by"] == "identityProvider":
        lines.append(
            "Why: the identity provider set the connector's syncToContact attribute "
            f"to {str(decided['value']).lower()} for this user."
        )
    elif isinstance(decided["scope"], bool):
        scope_word = "every user" if decided["scope"] else "no user"
        lines.append(f"Why: the source's sync scope takes {scope_word}.")
    elif decided["value"]:
        lines.append(
            f"Why: the source's sync scope filter matched: {' and '.join(decided['matched'])}."
        )
    else:
        lines.append(
            f"Why: the source's sync scope filter did not match: {'; '.join(decided['failed'])}."
        )
    if decided.get("value") is not None and decided["value"] != user.sync_to_contact:
        lines.append("The source's scope would decide otherwise on the user's next change.")
    state = link["state"]
    if state == "none":
        lines.append("It has no contact.")
    elif state == "paused":
        lines.append("Its contact is kept but no longer updated (the link is paused).")
    else:
        lines.append("Its contact is kept up to date (the link is active).")
    if state != "none":
        if link["stale"]:
            lines.append(
                f"The contact was built with mapping version {link['mappingVersion']}; "
                f"version {link['currentMappingVersion']} is current."
            )
        differing = [d["field"] for d in link["differences"]]
        if differing:
            lines.append(f"The current mapping would change: {', '.join(differing)}.")
        else:
            lines.append("The contact holds what the current mapping writes.")
    return lines


def explain(session: Session, user_id: str) -> dict[str, Any]:
    user = users.get(session, user_id)
    source = sources.by_id(session, user.source_id)
    assert source is not None  # users.source_id is a foreign key
    state = users.load_state(session)
    resource = user_resources.resources(session, [user])[0]
    decided = _decided_by(source, user, resource)
    found = linking.link_of_user(session, user.id)
    link: dict[str, Any] = {"state": "none", "contactId": None, "differences": []}
    if found is not None:
        contact = session.get_one(Contact, found.contact_id)
        would = apply(user.resource, state.mapping.rows)
        link = {
            "state": found.state,
            "contactId": found.contact_id,
            "mappingVersion": found.mapping_version,
            "currentMappingVersion": state.mapping.version,
            "stale": found.mapping_version < state.mapping.version,
            "differences": [
                {"field": name, "current": contact.fields.get(name), "wouldBe": would.get(name)}
                for name in sorted(contact.fields.keys() | would.keys())
                if contact.fields.get(name) != would.get(name)
            ],
        }
    return {
        "userId": user.id,
        "userName": user.user_name,
        "source": source.name,
        "syncToContact": user.sync_to_contact,
        "decidedBy": decided,
        "link": link,
        "summary": _sentences(user, decided, link),
    }
