"""room for a job's longest state, ``done_with_errors``

Why: ``jobs.state`` was 12 characters, so on PostgreSQL a job that counted an
error could never record its end (the final UPDATE failed) and stayed
unfinished for good; SQLite does not enforce the length, so only PostgreSQL
showed it.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("state", type_=sa.String(20), existing_type=sa.String(12))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("state", type_=sa.String(12), existing_type=sa.String(20))
