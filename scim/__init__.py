"""SCIM 2.0 protocol pieces that know nothing about storage.

Schemas, validation, projection, filters (parsed into a tree, evaluated in
memory), PATCH, Bulk, errors, the store protocol (:mod:`scim.store`) and the
service that answers requests over it (:mod:`scim.service`). Only
:mod:`scim.flask_adapter` imports a web framework: it mounts the service as a
Flask blueprint. Nothing in this package imports :mod:`connector`; the
application plugs storage in through the store protocol.
"""
