"""The SCIM store protocol (scim.store) on the connector's services: Users and Groups.

Each store method is one unit of work: reads through connector.queries, every
rule (uniqueness, contacts, sync scope, audit) through connector.services, and
service errors turned into SCIM errors on the way out.
"""
