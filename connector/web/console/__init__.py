"""The admin console at /admin/: server-rendered page shells over the admin REST API."""
