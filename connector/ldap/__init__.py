"""LDAP directories as user sources.

Layers, so that ldap3 stays out of everything that only needs configuration:
``settings``/``presets``/``filters`` are pure; ``client`` wraps ldap3;
``entries`` and ``quirks`` turn entries into SCIM Users; ``sync`` compares and
writes through the user services; ``run_service`` is what entry points call
(queue, confirm, list), ``run_execution`` carries one run out under the source's
lock, ``run_records`` is the ``sync_runs`` row.
"""
