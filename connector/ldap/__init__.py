"""LDAP directories as user sources.

Layers, so that ldap3 stays out of everything that only needs configuration:
``settings`` (the ``[[sources.ldap]]`` section, registered with
``connector.config``), ``presets`` and ``filters`` are pure; ``client`` wraps
ldap3; ``entries`` and ``quirks`` turn entries into SCIM Users and
``mapped_pages`` does that for a page; ``sync`` compares and writes through the
user services (the delete guard sits next to the deletion there);
``run_service`` is what entry points call (queue, confirm, list),
``run_execution`` carries one run out under the source's lock, ``run_records`` is
the ``sync_runs`` row. ``fast_import`` is the fast path of full runs, behind one
switch.
"""
