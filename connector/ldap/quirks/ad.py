"""Active Directory: binary objectGUID, per-DC uSNChanged.

(A disabled account, userAccountControl bit 2, is the preset's ``disabled``
filter with AD's bitwise-AND matching rule: see :mod:`connector.ldap.presets`.)
"""

from __future__ import annotations

import uuid

from connector.ldap.filters import escape


def guid_to_uuid(raw: bytes) -> str:
    """objectGUID is 16 bytes with the first three fields little-endian (a Windows GUID)."""
    if len(raw) != 16:
        raise ValueError(f"objectGUID must be 16 bytes, got {len(raw)}")
    return str(uuid.UUID(bytes_le=raw))


def guid_filter_value(text: str) -> str:
    """The escaped filter value that finds an entry by the UUID text of its objectGUID."""
    return escape(uuid.UUID(text).bytes_le)


def usn_watermark_valid(stored_server: str | None, current_server: str) -> bool:
    """uSNChanged counts per domain controller: a watermark only holds on its own DC.

    Another DC's numbers are unrelated; polling it with the old number could skip
    changes, so the caller reads everything (comparing hashes) instead.
    """
    return stored_server is not None and stored_server.lower() == current_server.lower()


def server_identity(root_dse: dict[str, list[str]], url: str) -> str:
    """The DC a watermark belongs to: its dsServiceName or dnsHostName, else the URL."""
    for key in ("dsservicename", "dnshostname"):
        values = root_dse.get(key)
        if values:
            return values[0]
    return url
