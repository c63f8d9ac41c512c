"""The one patch of ldap3's internals: search entries skip ldap3's decoder.

Why a patch: ldap3 offers no hook between reading a message and decoding it, and
its decoder is most of the time a large read takes (see :mod:`.ber`). The sync
strategy's ``receiving()`` method takes no argument and returns the complete
messages read from the socket, as bytes (an empty list when the server closed
the connection); ``_get_response`` calls it in a loop until the operation's
final message. Here ``receiving`` is wrapped so that search result entries go to
a list on the connection (read by :mod:`.ber`) and ldap3 gets the rest.

``receiving`` is not ldap3's public API. Checked against ldap3 2.9.1, its latest
release (pyproject requires ``ldap3>=2.9.1``); ``tests/unit/test_ldap_client.py``
fails if a release renames it or changes its signature. Only connections of a
source whose fast path is on are patched (:func:`connector.ldap.fast_import.enabled`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from connector.ldap.fast_import.ber import search_entry

# The ldap3 versions whose SyncStrategy.receiving this patch was checked against.
CHECKED_VERSIONS = ("2.9.1",)
Diverted = list[tuple[str, dict[str, list[bytes]]]]


def patchable(strategy_class: Any) -> bool:
    """Whether ``strategy_class.receiving`` is still the method this patch wraps."""
    receiving = getattr(strategy_class, "receiving", None)
    return callable(receiving) and list(inspect.signature(receiving).parameters) == ["self"]


def divert_search_entries(conn: Any) -> None:
    """Make a sync-strategy connection put the search entries it receives, read from
    their bytes, into ``conn.diverted`` (each search empties it first and takes what
    it collected). An empty batch would read to ldap3 as a closed session, so the
    socket is read again until something is left for it.
    """
    strategy = conn.strategy
    sink: Diverted = []
    conn.diverted = sink
    receive: Callable[[], list[bytes]] = strategy.receiving

    def receiving() -> list[bytes]:
        while True:
            messages = receive()
            if not messages:  # the server closed the connection: ldap3 handles that
                return messages
            kept = []
            for message in messages:
                entry = search_entry(message)
                if entry is None:
                    kept.append(message)
                else:
                    sink.append(entry)
            if kept:
                return kept

    strategy.receiving = receiving
