"""WSGI entry point for production servers (gunicorn, waitress): ``connector.web.wsgi:app``.

A web replica: it does not migrate (``connector db upgrade`` does; set
``CONNECTOR_MIGRATE=true`` to migrate here) and against an older schema answers
``/readyz`` with 503 and says why in the log. With ``CONNECTOR_SCHEDULER=off``
(deploy/gunicorn.conf.py sets it) it runs no jobs: what it queues waits in the
database for ``connector worker``. Importing this module starts the process
(connector.startup): bootstrap rows, LDAP sources, and the job runner when the
scheduler is enabled.
"""

from connector import startup, startup_heap
from connector.config import load_settings
from connector.logs import configure_logging
from connector.web.app import create_app

_settings = load_settings()
configure_logging(_settings)
_started = startup.start(_settings, upgrade=startup.migrates(_settings, default=False))
app = create_app(_started.ctx, _started.runner)
startup_heap.freeze()
