"""contacts: the e-mail sort key and an index per sort order of the listing

Why: the contact listing pages by keyset (the last row's sort key and id) in
three orders: name (``search_text``), e-mail and last update. Each order gets an
index on (key, id), so that a page deep in the list is an index range instead of
an offset over every row before it. Text keys compare in code point order on
PostgreSQL too (COLLATE "C"), as SQLite compares them. ``sort_email`` is "0" and
the lower-cased address, or "1" for a contact without one (it sorts after every
address); existing rows get theirs here.

Revision ID: 0014
Revises: 0012
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

BATCH = 5000


def _email_key(fields: object) -> str:
    if isinstance(fields, str):
        fields = json.loads(fields)
    email = fields.get("email") if isinstance(fields, dict) else None
    return f"0{str(email).lower()}" if email else "1"


def _fill(bind: sa.engine.Connection) -> None:
    contacts = sa.table(
        "contacts", sa.column("id", sa.String), sa.column("fields"), sa.column("sort_email")
    )
    last = ""
    while True:
        rows = bind.execute(
            sa.select(contacts.c.id, contacts.c.fields)
            .where(contacts.c.id > last)
            .order_by(contacts.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        keys = [{"b_id": i, "key": _email_key(f)} for i, f in rows if _email_key(f) != "1"]
        if keys:
            bind.execute(
                sa.update(contacts)
                .where(contacts.c.id == sa.bindparam("b_id"))
                .values(sort_email=sa.bindparam("key")),
                keys,
            )
        last = rows[-1][0]


def _text_key(column: str, postgresql: bool) -> sa.TextClause | str:
    return sa.text(f'{column} COLLATE "C"') if postgresql else column


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("sort_email", sa.Text(), nullable=False, server_default="1"))
    _fill(bind)
    op.create_index(
        "ix_contacts_sort_name", "contacts", [_text_key("search_text", postgresql), "id"]
    )
    op.create_index(
        "ix_contacts_sort_email", "contacts", [_text_key("sort_email", postgresql), "id"]
    )
    op.create_index("ix_contacts_sort_updated", "contacts", ["updated_at", "id"])


def downgrade() -> None:
    for name in ("ix_contacts_sort_updated", "ix_contacts_sort_email", "ix_contacts_sort_name"):
        op.drop_index(name, table_name="contacts")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("sort_email")
