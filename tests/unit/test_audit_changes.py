"""What one field is in the audit log's changes (connector.services.audit_changes)."""

from __future__ import annotations

from connector.services.audit_changes import changes, flatten

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_nested_objects_typed_lists_and_extensions_are_paths():
    flat = flatten(
        {
            "id": "x",
            "schemas": ["urn:a"],
            "meta": {"version": 'W/"1"'},
            "name": {"givenName": "Ada", "middleName": None},
            "emails": [{"type": "work", "value": "a@x.org", "primary": True}],
            "groups": [{"value": "g1"}],
            ENTERPRISE: {"department": "R&D", "manager": {"displayName": "Bob"}},
        }
    )
    assert flat == {
        "name.givenName": "Ada",
        'emails[type eq "work"].value': "a@x.org",
        'emails[type eq "work"].primary': True,
        "groups": [{"value": "g1"}],
        f"{ENTERPRISE}:department": "R&D",
        f"{ENTERPRISE}:manager.displayName": "Bob",
    }


def test_a_contact_counts_its_own_fields_and_not_its_default_state():
    created = changes(
        "contact", None, {"fields": {"firstName": "A", "email": "a@x"}, "active": True}
    )
    assert [r["field"] for r in created] == ["firstName", "email"]
    inactive = changes("contact", None, {"fields": {"firstName": "A"}, "active": False})
    assert {"field": "active", "before": None, "after": False} in inactive
    updated = changes(
        "contact",
        {"fields": {"firstName": "A", "email": "a@x"}, "active": True},
        {"fields": {"firstName": "A", "email": "b@x"}, "active": False},
    )
    assert updated == [
        {"field": "email", "before": "a@x", "after": "b@x"},
        {"field": "active", "before": True, "after": False},
    ]


def test_a_mapping_lists_each_user_field_whose_contact_field_changed():
    before = {"rows": [{"userField": "title", "contactField": "jobTitle"}], "version": 1}
    after = {
        "rows": [
            {"userField": "title", "contactField": "notes"},
            {"userField": "nickName", "contactField": "nickname"},
        ],
        "version": 2,
    }
    assert changes("mapping", before, after) == [
        {"field": "title", "before": "jobTitle", "after": "notes"},
        {"field": "version", "before": 1, "after": 2},
        {"field": "nickName", "before": None, "after": "nickname"},
    ]
