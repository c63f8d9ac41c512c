"""Database access: typed models, engine set-up and Alembic migrations."""
