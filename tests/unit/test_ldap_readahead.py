"""Read-ahead keeps the order and the failures of a plain loop, and stops its thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from connector.ldap.readahead import read_ahead


def test_items_arrive_in_order_and_the_thread_ends() -> None:
    with read_ahead(lambda: iter(range(50)), depth=2) as items:
        assert list(items) == list(range(50))
    assert not [t for t in threading.enumerate() if t.name == "ldap-read-ahead"]


def test_a_producer_error_is_raised_where_its_item_would_come() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("lost")

    seen: list[int] = []
    with pytest.raises(ConnectionError, match="lost"), read_ahead(produce) as items:
        for item in items:
            seen.append(item)
    assert seen == [1, 2]


def test_leaving_early_stops_the_producer_a_bounded_way_ahead() -> None:
    produced: list[int] = []

    def produce() -> Iterator[int]:
        for i in range(1000):
            produced.append(i)
            yield i

    with pytest.raises(RuntimeError), read_ahead(produce, depth=1) as items:
        for item in items:
            if item == 3:
                raise RuntimeError("the consumer failed")
    # The consumer had 0..3; the queue held one more and the thread one more.
    assert len(produced) <= 6
    assert not [t for t in threading.enumerate() if t.name == "ldap-read-ahead"]
