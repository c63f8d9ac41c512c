"""Migration 0014: contacts written before it get their e-mail sort key."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from connector.config import Settings
from connector.db.engine import Database
from connector.mapping import email_sort_key
from tests.conftest import fresh_database


def test_existing_contacts_get_their_email_sort_key(settings: Settings, tmp_path: Path):
    backend = "sqlite" if settings.database_url.startswith("sqlite") else "postgresql"
    with fresh_database(backend, tmp_path) as url:
        db = Database(url)
        try:
            db.upgrade("0011")
            rows = {
                "c1": {"lastName": "A", "email": "Zed@Example.com"},
                "c2": {"lastName": "B"},
                "c3": {"lastName": "C", "email": ""},
            }
            with db.engine.begin() as conn:
                for contact_id, fields in rows.items():
                    conn.execute(
                        text(
                            "INSERT INTO contacts (id, fields, search_text, active, version,"
                            " created_at, updated_at) VALUES (:id, :fields, '', true, 1,"
                            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                        ),
                        {"id": contact_id, "fields": json.dumps(fields)},
                    )
            db.upgrade()
            with db.engine.connect() as conn:
                keys = dict(conn.execute(text("SELECT id, sort_email FROM contacts")).all())
            assert keys == {cid: email_sort_key(fields) for cid, fields in rows.items()}
            assert keys["c1"] == "0zed@example.com" and keys["c2"] == keys["c3"] == "1"
        finally:
            db.dispose()
