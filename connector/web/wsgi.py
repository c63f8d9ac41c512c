"""WSGI entry point for production servers (gunicorn, waitress): ``connector.web.wsgi:app``.

Migrations are expected to have run (``connector db upgrade``); set
``CONNECTOR_SCHEDULER=off`` on web workers when a separate process runs jobs.
Importing this module starts the process (connector.startup): bootstrap rows,
LDAP sources, and the job runner when the scheduler is enabled.
"""

from connector import startup
from connector.config import load_settings
from connector.logs import configure_logging
from connector.web.app import create_app

_settings = load_settings()
configure_logging(_settings)
_started = startup.start(_settings, upgrade=False)
app = create_app(_started.ctx, _started.runner)
