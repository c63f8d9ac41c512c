"""Synchronisers, one per object kind (users today), in the style of authentik's
``sources/ldap/sync/``: each knows which attributes it reads and how an entry
of its kind is written through the service layer."""
