"""``users (source_id, user_name_ci, id)`` replaces ``(source_id, user_name_ci)``

Why: a SCIM page deep in a source's users (``startIndex`` in the tens of
thousands) skipped its OFFSET by reading every skipped user's row. The page now
picks its ids first (connector.queries.filtered_page, a deferred join), and with
the id in the index that is a walk over the index alone (an index-only scan on
PostgreSQL, a covering index on SQLite); only the page's own rows are read.
``user_name_ci`` is unique, so the id changes neither the order nor what the
index serves: the source's users in userName order, userName ranges within a
source, and every lookup by source alone.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_source_user_name_id", "users", ["source_id", "user_name_ci", "id"])
    op.drop_index("ix_users_source_user_name", table_name="users")


def downgrade() -> None:
    op.create_index("ix_users_source_user_name", "users", ["source_id", "user_name_ci"])
    op.drop_index("ix_users_source_user_name_id", table_name="users")
