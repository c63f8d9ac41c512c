"""audit payloads as json, not jsonb, on PostgreSQL

Why: the audit trail is written once per change and read rarely, never queried
by its payload's content. jsonb is parsed and converted on every insert, which
on a directory's first import (two audit rows per user) was a large part of
PostgreSQL's work; json keeps the text as written. SQLite stores text either way.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = ("before", "after")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.alter_column(
            "audit_events",
            column,
            type_=sa.JSON(),
            postgresql_using=f'"{column}"::json',
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy.dialects.postgresql import JSONB

    for column in COLUMNS:
        op.alter_column(
            "audit_events",
            column,
            type_=JSONB(),
            postgresql_using=f'"{column}"::jsonb',
        )
