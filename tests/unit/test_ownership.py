"""Whose values a user's are, and where an admin changes them."""

from __future__ import annotations

from connector.services import ownership


def test_only_local_users_are_the_connectors_own():
    assert ownership.owned_by_source("scim") and ownership.owned_by_source("ldap")
    assert not ownership.owned_by_source("local")


def test_the_reason_says_where_to_change_the_value():
    assert ownership.managed_by("user 'x'", "okta", "scim") == (
        "user 'x' is managed by source 'okta'; change it at the identity provider"
    )
    assert ownership.managed_by("user 'y'", "corp", "ldap") == (
        "user 'y' is managed by source 'corp'; change it in the directory"
    )
