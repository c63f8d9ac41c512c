"""Which sync scopes a change of a user's groups can decide differently."""

from __future__ import annotations

import pytest

from connector.services import sync_scope


@pytest.mark.parametrize(
    ("scope", "reads"),
    [
        (True, False),
        (False, False),
        ('title eq "Engineer"', False),
        ('emails[type eq "work" and value co "groups"]', False),
        ('urn:example:ext:groups eq "x"', False),  # an extension's, not the user's groups
        ('groups.display eq "Staff"', True),
        ('GROUPS[display sw "S"]', True),
        ('title eq "x" or (active eq true and not (groups pr))', True),
        ('urn:ietf:params:scim:schemas:core:2.0:User:groups.value eq "1"', True),
    ],
)
def test_a_scope_reads_groups_only_when_its_filter_names_them(scope, reads):
    assert sync_scope.reads_groups(scope) is reads
    # A scope that reads groups reads the user's resource; the converse need not hold.
    assert not reads or sync_scope.reads_resource(scope)
