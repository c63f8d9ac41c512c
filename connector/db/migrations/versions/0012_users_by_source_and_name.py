"""``users (source_id, user_name_ci)`` replaces the index on ``source_id`` alone

Why: a SCIM client lists and looks up its own source's users. With an index on
``source_id`` alone, SQLite's planner (which has no statistics) preferred it to
the index a filter names (a ``userName`` range, an e-mail lookup), reading
every user of the source; and a page in the default order (userName) sorted
the whole source. The composite index serves both the source's users in
userName order and ranges of userName within a source; every lookup by source
alone (the foreign key, counts) can use it as it leads with ``source_id``.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_source_user_name", "users", ["source_id", "user_name_ci"])
    op.drop_index("ix_users_source_id", table_name="users")


def downgrade() -> None:
    op.create_index("ix_users_source_id", "users", ["source_id"])
    op.drop_index("ix_users_source_user_name", table_name="users")
