"""Mounts the SCIM 2.0 service at /scim/v2 with the connector's stores and tokens."""

from __future__ import annotations

from flask import Blueprint

from connector import logs
from connector.scim_store.groups import ScimGroupStore
from connector.scim_store.users import ScimUserStore
from connector.services import tokens
from connector.services.context import Context
from connector.services.tokens import Principal
from connector.web.error_shapes import SCIM_PREFIX
from scim.flask_adapter import create_blueprint
from scim.service import ServiceConfig


def scim_blueprint(ctx: Context) -> Blueprint:
    def authenticate(token: str) -> Principal | None:
        # A read (or none, for a token checked a moment ago): no write lock; the
        # last-used time is written at most once per tokens.LAST_USED_RESOLUTION.
        caller = tokens.check_scim(ctx, token)
        logs.bind(source=caller.source_name)
        return caller.principal

    return create_blueprint(
        users=ScimUserStore(ctx),
        groups=ScimGroupStore(ctx),
        authenticate=authenticate,
        config=ServiceConfig(max_results=ctx.settings.api.max_page_size),
        url_prefix=SCIM_PREFIX,
    )
