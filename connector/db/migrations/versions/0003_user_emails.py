"""user emails

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# Code point order on PostgreSQL too, like the index's prefix ranges expect.
VALUE_CI_TYPE = sa.String(length=255).with_variant(
    sa.String(length=255, collation="C"), "postgresql"
)
VALUE_CI_LENGTH = 255

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _email_keys(resource):
    emails = resource.get("emails") if isinstance(resource, dict) else None
    if not isinstance(emails, list):
        return []
    return sorted(
        {
            item["value"].lower()[:VALUE_CI_LENGTH]
            for item in emails
            if isinstance(item, dict) and isinstance(item.get("value"), str)
        }
    )


def _backfill() -> None:
    """One row per e-mail value of the existing users (as connector.queries.user_emails)."""
    users = sa.table("users", sa.column("id", sa.String()), sa.column("resource", JSON_TYPE))
    user_emails = sa.table(
        "user_emails", sa.column("user_id", sa.String()), sa.column("value_ci", sa.String())
    )
    bind = op.get_bind()
    last = ""
    while True:
        batch = bind.execute(
            sa.select(users.c.id, users.c.resource)
            .where(users.c.id > last)
            .order_by(users.c.id)
            .limit(1000)
        ).all()
        if not batch:
            return
        rows = [
            {"user_id": user_id, "value_ci": key}
            for user_id, resource in batch
            for key in _email_keys(resource)
        ]
        if rows:
            bind.execute(user_emails.insert(), rows)
        last = batch[-1][0]


def upgrade() -> None:
    op.create_table(
        "user_emails",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("value_ci", VALUE_CI_TYPE, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("user_emails", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_emails_user_id"), ["user_id"], unique=False)
        batch_op.create_index("ix_user_emails_value_ci", ["value_ci", "user_id"], unique=False)
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table("user_emails", schema=None) as batch_op:
        batch_op.drop_index("ix_user_emails_value_ci")
        batch_op.drop_index(batch_op.f("ix_user_emails_user_id"))

    op.drop_table("user_emails")
