"""The reference SCIM server of bench/scim.py: scim2-server, in memory, under waitress.

    bench/.reference-venv/bin/python bench/scim_reference.py --port P --token T [--threads 8]

Run by the reference's own virtual environment (bench/scim.py creates it with
pip: scim2-server and waitress), never by the connector's. It builds the same
application as the ``scim2-server`` command (default schemas, resource types
and service provider configuration, one in-memory storage, a static bearer
token) but serves it with waitress and 8 threads instead of the command's
wsgiref server, so that both servers are measured behind a production WSGI
server. The resources are served under ``/v2``.
"""

from __future__ import annotations

import argparse
import logging
import secrets

import waitress
from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    app = BearerTokenApplication(
        InMemoryStorage(), provider, service=service, bearer_tokens=[args.token]
    )
    print(f"reference listening on 127.0.0.1:{args.port}", flush=True)
    waitress.serve(
        app, host="127.0.0.1", port=args.port, threads=args.threads, connection_limit=200
    )


if __name__ == "__main__":
    main()
