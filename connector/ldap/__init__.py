"""LDAP directories as user sources.

Layers, so that ldap3 stays out of everything that only needs configuration:
``settings``/``presets``/``filters`` are pure; ``client`` wraps ldap3;
``entries`` and ``quirks`` turn entries into SCIM Users; ``sync`` compares and
writes through the user services; ``runs`` is what entry points call (locks,
run records, deletion guard).
"""
