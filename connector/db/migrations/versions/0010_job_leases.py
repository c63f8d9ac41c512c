"""jobs as a queue: the worker that claimed a job and its lease

Why: several workers share one database; a job is claimed by one of them
(``claimed_by``) for a time it renews (``lease_until``), and a job whose worker
died is taken over when the lease runs out. ``claims`` counts the claims.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("claims", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("claims")
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
