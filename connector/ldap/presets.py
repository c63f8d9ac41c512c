"""Built-in defaults per directory product, so a typical source needs only URL,
credentials and base DN. Keys a source sets itself always win."""

from __future__ import annotations

from typing import Any

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

_INET_ORG_PERSON = {
    "uid": "userName",
    "displayName": "displayName",
    "givenName": "name.givenName",
    "sn": "name.familyName",
    "title": "title",
    "mail": 'emails[type eq "work"].value',
    "telephoneNumber": 'phoneNumbers[type eq "work"].value',
    "mobile": 'phoneNumbers[type eq "mobile"].value',
    "preferredLanguage": "preferredLanguage",
    "employeeNumber": f"{ENTERPRISE}:employeeNumber",
    "departmentNumber": f"{ENTERPRISE}:department",
    "o": f"{ENTERPRISE}:organization",
}

PRESETS: dict[str, dict[str, Any]] = {
    "openldap": {
        "filter": "(objectClass=inetOrgPerson)",
        "id_attribute": "entryUUID",
        "change_attribute": "modifyTimestamp",
        "disabled": "(pwdAccountLockedTime=*)",
        "attributes": _INET_ORG_PERSON,
    },
    "389ds": {
        "filter": "(objectClass=inetOrgPerson)",
        "id_attribute": "nsUniqueId",
        "change_attribute": "modifyTimestamp",
        "disabled": "(nsAccountLock=TRUE)",
        "attributes": _INET_ORG_PERSON,
    },
    "active_directory": {
        "filter": "(&(objectCategory=person)(objectClass=user))",
        "id_attribute": "objectGUID",
        "change_attribute": "uSNChanged",
        # userAccountControl bit 2 (ACCOUNTDISABLE), with AD's bitwise-AND rule.
        "disabled": "(userAccountControl:1.2.840.113556.1.4.803:=2)",
        "page_size": 1000,
        "attributes": {
            "sAMAccountName": "userName",
            "displayName": "displayName",
            "givenName": "name.givenName",
            "sn": "name.familyName",
            "title": "title",
            "mail": 'emails[type eq "work"].value',
            "telephoneNumber": 'phoneNumbers[type eq "work"].value',
            "mobile": 'phoneNumbers[type eq "mobile"].value',
            "employeeID": f"{ENTERPRISE}:employeeNumber",
            "department": f"{ENTERPRISE}:department",
            "company": f"{ENTERPRISE}:organization",
        },
    },
}
