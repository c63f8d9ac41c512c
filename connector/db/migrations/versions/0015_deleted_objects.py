"""``deleted_objects``: soft deletion with a grace period; ``sources.delete_guard``

Why: a user deleted by a source or an admin (and the contact that follows) stays
restorable for ``deletion.grace_period``, and a SCIM source's mass deletion can be
held by its deletion guard until an admin confirms it. The live tables stay as
they were: deleted rows move into ``deleted_objects``.

Revision ID: 0015
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "deleted_objects",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column(
            "source_id",
            sa.Integer(),
            sa.ForeignKey("sources.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("anchor", sa.String(255), nullable=True),
        sa.Column("object_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purge_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.String(200), nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_deleted_objects_anchor", "deleted_objects", ["source_id", "anchor"])
    op.create_index("ix_deleted_objects_deleted_at", "deleted_objects", ["deleted_at"])
    op.create_index("ix_deleted_objects_purge_after", "deleted_objects", ["purge_after"])
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("delete_guard", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("delete_guard")
    op.drop_table("deleted_objects")
