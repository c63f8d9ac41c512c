"""WSGI entry point for production servers (gunicorn, waitress): ``connector.web.wsgi:app``.

Migrations are expected to have run (``connector db upgrade``); set
``CONNECTOR_SCHEDULER=off`` on web workers when a separate process runs jobs.
"""

from connector.config import load_settings
from connector.logs import configure_logging
from connector.web.app import create_app

_settings = load_settings()
configure_logging(_settings)
app = create_app(_settings, upgrade=False)
