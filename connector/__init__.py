"""The provisioning connector: users from SCIM and LDAP become read-only contacts."""
