"""Every runner of a cluster names a schedule's firing alike (its slot), whatever its clock tick.

That is what lets the second runner of a firing see that the first one ran it
(connector/ldap/run_service.py ``queue``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from connector.scheduler import SCHEDULE_EPOCH, slot_of


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_intervals_fire_at_the_same_instants_on_every_runner() -> None:
    trigger = IntervalTrigger(seconds=300, start_date=SCHEDULE_EPOCH, timezone="UTC")
    slot = at("2026-11-29 10:05:00")
    # Runners that started at different times fire at the same instants...
    for started in (at("2026-11-29 10:00:30"), at("2026-11-29 10:04:59")):
        assert trigger.get_next_fire_time(None, started) == slot
    # ...and name the firing alike however late their thread got to it.
    for late in (0, 0.2, 3, 299.9):
        assert slot_of(trigger, slot + timedelta(seconds=late)) == slot
    assert slot_of(trigger, slot + timedelta(seconds=300)) == slot + timedelta(seconds=300)


def test_cron_firings_are_named_by_their_minute() -> None:
    trigger = CronTrigger.from_crontab("*/5 * * * *", timezone="UTC")
    slot = at("2026-11-29 10:05:00")
    for late in (0, 0.5, 30, 58):
        assert slot_of(trigger, slot + timedelta(seconds=late)) == slot
    # A run that started over a minute late is named by when it ran.
    very_late = slot + timedelta(seconds=90)
    assert slot_of(trigger, very_late) == very_late
