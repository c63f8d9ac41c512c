"""Job batches are sized by time: as many rows as fit in jobs.batch_seconds."""

from __future__ import annotations

from connector.services.batch_sizes import BatchSizes


def test_the_first_batch_is_small_and_never_over_the_configured_size():
    assert BatchSizes(1000, 0.05).next == BatchSizes.FIRST
    assert BatchSizes(3, 0.05).next == 3


def test_fast_batches_grow_at_most_twofold_up_to_the_configured_size():
    sizes = BatchSizes(1000, 0.05)
    sizes.took(100, 0.001)
    assert sizes.next == 200
    for _ in range(10):
        sizes.took(sizes.next, 0.001)
    assert sizes.next == 1000


def test_slow_batches_shrink_at_most_by_half_and_never_below_one():
    sizes = BatchSizes(1000, 0.05)
    sizes.took(100, 0.08)
    assert sizes.next == 62  # 100 rows took 80 ms: 62 fit in 50 ms
    sizes.took(62, 10.0)
    assert sizes.next == 31
    for _ in range(10):
        sizes.took(sizes.next, 10.0)
    assert sizes.next == 1


def test_a_batch_that_fits_keeps_its_size():
    sizes = BatchSizes(1000, 0.05)
    sizes.took(400, 0.05)
    assert sizes.next == 400
