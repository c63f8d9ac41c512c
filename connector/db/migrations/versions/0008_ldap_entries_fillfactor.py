"""room in ldap_entries' pages for in-place updates on PostgreSQL

Why: a reconciliation marks every entry it finds unchanged (``seen_run``), a
thousand per page. On pages a first import filled completely, each such update
wrote a new row version on another page and an entry in every index. With room
left in each page (fillfactor 70), PostgreSQL updates in place (HOT: seen_run
is in no index) and the indexes are not touched. Applies to pages written from
now on; SQLite updates in place anyway.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ldap_entries SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ldap_entries RESET (fillfactor)")
