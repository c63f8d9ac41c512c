"""The provisioning connector: users from SCIM and LDAP become read-only contacts."""

# The kinds of source this connector includes. Importing one registers its
# configuration section ([[sources.<kind>]]) with connector.config, which itself
# knows no kind of source.
from connector.ldap import settings as _ldap_settings  # noqa: F401
