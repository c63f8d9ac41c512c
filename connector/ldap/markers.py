"""Change markers (modifyTimestamp, entryCSN, uSNChanged): order and overlap.

The incremental poll asks for entries whose marker is at or after the
watermark minus an overlap, because timestamps have whole-second resolution
and servers' clocks differ; re-reading a few entries is harmless (their
content hash is unchanged, so nothing is written).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_GT = "%Y%m%d%H%M%S"


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text[:14], _GT).replace(tzinfo=UTC)


def order_key(attribute: str, marker: str) -> tuple[int, str]:
    """A sort key: uSNChanged by number, timestamps and CSNs by their text."""
    if attribute == "uSNChanged":
        return (int(marker), "")
    return (0, marker)


def newest(attribute: str, a: str | None, b: str | None) -> str | None:
    if not a:
        return b
    if not b:
        return a
    return max(a, b, key=lambda m: order_key(attribute, m))


def since(attribute: str, watermark: str, overlap_seconds: int) -> str:
    """The value for ``(<attribute>>=value)`` that starts a poll at this watermark."""
    if attribute == "uSNChanged":
        return str(int(watermark))  # per-DC counter: no clock, no skew
    start = _parse_time(watermark) - timedelta(seconds=overlap_seconds)
    stamp = start.strftime(_GT)
    if attribute == "entryCSN":
        return f"{stamp}.000000Z#000000#000#000000"
    return f"{stamp}Z"
