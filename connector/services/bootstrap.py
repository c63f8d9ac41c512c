"""What a fresh database needs before the first request: local source, default mapping."""

from __future__ import annotations

from sqlalchemy.orm import Session

from connector.catalogue import Catalogue
from connector.services import mappings, sources


def ensure_defaults(session: Session, catalogue: Catalogue) -> None:
    sources.get_or_create(session, sources.LOCAL, sources.LOCAL)
    mappings.ensure_initial(session, catalogue)
