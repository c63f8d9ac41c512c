"""``users.sync_set_by_admin``: an admin's sync switch is an override

Why: an admin's ``syncToContact`` on a SCIM or directory user was undone by the
source's sync scope at the provider's next change of that user. The flag marks
the switch as the admin's, which the scope no longer touches, until the admin
returns the user to "follow the source".

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("sync_set_by_admin", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("sync_set_by_admin")
