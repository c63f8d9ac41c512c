"""How many rows a long task's next transaction takes: sized by time, not a fixed count.

A batch holds SQLite's write lock for its whole transaction, and a SCIM write
that comes meanwhile waits for it (connector/db/write_lock.py: for at most the
transaction in progress). "Update all synchronized users" (services/jobs.py) and
an LDAP reconciliation's removals (ldap/sync/users.py) size their batches here.
"""

from __future__ import annotations


class BatchSizes:
    """How many rows the next batch takes: as many as fit in ``seconds``, at most ``most``.

    A batch holds the write lock (SQLite) for its whole transaction, and a SCIM
    write that comes meanwhile waits for it; so batches are sized by time, not by a
    fixed count. The first has ``min(most, FIRST)`` rows; each next one is scaled by
    how long the last took, at most doubled or halved at a time.
    """

    FIRST = 100

    def __init__(self, most: int, seconds: float) -> None:
        self.most, self.seconds = most, seconds
        self.next = min(most, self.FIRST)

    def took(self, rows: int, elapsed: float) -> None:
        fitting = rows * self.seconds / elapsed if elapsed > 0 else rows * 2
        self.next = max(1, min(self.most, rows * 2, max(rows // 2, int(fitting))))
