"""The deletion guard's threshold rule, for LDAP runs and SCIM sources alike.

Why one rule: an outage, a bad filter or a scoping mistake at the identity
provider looks the same from here whatever the kind of source: many users going
at once. LDAP applies it to one reconciliation (``connector.ldap.settings``
``DeleteGuard``), a SCIM source to its deletions and deactivations within a
window (:mod:`connector.services.deletion`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from connector.config import duration_text, parse_duration
from connector.errors import InvalidInput

FIELD = "deleteGuard"


def allows(
    max_count: int, max_percent: float, deletions: int, population: int, *, confirmed: int = 0
) -> bool:
    """Whether ``deletions`` of ``population`` users may go; up to ``confirmed`` (what an
    admin allowed) always may. Past ``max_count``, or past ``max_percent`` of the
    population, they may not."""
    if deletions == 0 or deletions <= confirmed:
        return True
    if deletions > max_count:
        return False
    return population > 0 and deletions * 100 <= max_percent * population


@dataclass(frozen=True)
class SourceGuard:
    """A SCIM source's guard: at most ``max_count`` and ``max_percent`` % of its users
    deleted or deactivated within ``window``."""

    max_count: int
    max_percent: float
    window: timedelta

    def allows(self, deletions: int, population: int) -> bool:
        return allows(self.max_count, self.max_percent, deletions, population)

    def to_json(self) -> dict[str, Any]:
        return {
            "maxCount": self.max_count,
            "maxPercent": self.max_percent,
            "window": duration_text(self.window),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> SourceGuard | None:
        """The stored form (as :meth:`to_json` wrote it); None: no guard."""
        if not value:
            return None
        return cls(
            int(value["maxCount"]), float(value["maxPercent"]), parse_duration(value["window"])
        )


def validated(body: Any) -> SourceGuard | None:
    """The API's ``deleteGuard`` ({"maxCount", "maxPercent", "window"} or null to turn it
    off), or InvalidInput naming what is wrong."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise InvalidInput(
            'deleteGuard must be {"maxCount": N, "maxPercent": P, "window": "1h"} or null',
            field=FIELD,
        )
    unknown = set(body) - {"maxCount", "maxPercent", "window"}
    if unknown:
        key = sorted(unknown)[0]
        raise InvalidInput(f"unknown key {key!r} in deleteGuard", field=f"{FIELD}.{key}")
    count = body.get("maxCount", 0)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10**9:
        raise InvalidInput(
            "deleteGuard.maxCount must be a whole number from 0", field=f"{FIELD}.maxCount"
        )
    percent = body.get("maxPercent", 100)
    if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100:
        raise InvalidInput(
            "deleteGuard.maxPercent must be a number from 0 to 100", field=f"{FIELD}.maxPercent"
        )
    try:
        window = parse_duration(body.get("window", "1h"))
    except ValueError as exc:
        raise InvalidInput(f"deleteGuard.window: {exc}", field=f"{FIELD}.window") from exc
    if window <= timedelta(0) or window > timedelta(days=366):
        raise InvalidInput(
            "deleteGuard.window must be longer than 0 and at most 366d", field=f"{FIELD}.window"
        )
    return SourceGuard(count, float(percent), window)
