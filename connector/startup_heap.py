"""A serving process's startup objects, kept out of the garbage collector's full passes.

Once started, a serving process holds about 125,000 objects that live as long as
it does: modules, Flask's and SQLAlchemy's structures, the SCIM schemas. Every
full (generation 2) collection walked them all, 70 to 110 ms with every thread
stopped, about every two seconds under load. Inside a job's batch that pause
held SQLite's write lock as long, and it was the p99 of a SCIM PATCH while
"Update all synchronized users" ran. ``gc.freeze()`` moves them to the
permanent generation, which collections skip (the Python documentation suggests
it for a server's state after start-up); reference counting still frees them.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze() -> int:
    """Collect the start-up's own garbage, then freeze what is left; returns how many
    objects were frozen. Called by each serving entry point once it is ready."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("startup heap: %d objects kept out of full garbage collections", frozen)
    return frozen
