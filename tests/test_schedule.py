"""The draw window and intervals, with fixed clocks on both sides of daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crswatch.schedule import TORONTO, Plan, ScheduleError, Window, parse_duration, trigger_for

WINDOW = Window.parse("mon-fri 08:00-20:00")
PLAN = Plan(every=300, outside_every=1800, window=WINDOW)


def toronto(*args: int) -> datetime:
    return datetime(*args, tzinfo=TORONTO).astimezone(UTC)


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("90", 90), ("2d", 172800)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "5x", "-5m", "0", "5m3"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_duration(text)


@pytest.mark.parametrize("text", ["weekdays 8-20", "mon-fri 20:00-08:00", "mon-fun 08:00-20:00", "mon 25:00-26:00"])
def test_bad_windows(text: str) -> None:
    with pytest.raises(ScheduleError):
        Window.parse(text)


def test_inside_the_window_polls_every_interval() -> None:
    now = toronto(2026, 1, 21, 7, 37)  # a Wednesday, 07:37 in Toronto: outside
    assert not WINDOW.contains(now)
    assert PLAN.next_run(now) == toronto(2026, 1, 21, 8, 0)  # the opening comes before 30 minutes
    inside = toronto(2026, 1, 21, 12, 37)
    assert PLAN.next_run(inside) == toronto(2026, 1, 21, 12, 42)
    assert PLAN.next_run(toronto(2026, 1, 21, 19, 59)) == toronto(2026, 1, 21, 20, 4)
    assert PLAN.next_run(toronto(2026, 1, 21, 20, 0)) == toronto(2026, 1, 21, 20, 30)


def test_weekend_uses_the_slow_interval_until_monday() -> None:
    assert PLAN.next_run(toronto(2026, 1, 24, 12, 0)) == toronto(2026, 1, 24, 12, 30)  # Saturday
    assert PLAN.next_run(toronto(2026, 1, 26, 7, 45)) == toronto(2026, 1, 26, 8, 0)  # Monday morning


def test_window_opens_at_local_8_across_the_spring_change() -> None:
    # Toronto moves from EST (UTC-5) to EDT (UTC-4) on Sunday 2026-03-08.
    friday_before = WINDOW.next_open(toronto(2026, 3, 6, 21, 0))
    assert friday_before == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # Monday 08:00 EDT
    assert WINDOW.next_open(toronto(2026, 3, 2, 21, 0)) == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert WINDOW.contains(datetime(2026, 3, 9, 12, 0, tzinfo=UTC))
    assert not WINDOW.contains(datetime(2026, 3, 6, 12, 59, tzinfo=UTC))  # 07:59 EST


def test_window_across_the_autumn_change() -> None:
    # EDT → EST on Sunday 2026-11-01: Monday's 08:00 is 13:00 UTC, the Friday before 12:00 UTC.
    assert WINDOW.next_open(toronto(2026, 10, 29, 21, 0)) == datetime(2026, 10, 30, 12, 0, tzinfo=UTC)
    assert WINDOW.next_open(toronto(2026, 10, 30, 21, 0)) == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
    # the repeated hour 01:00-02:00 on the Sunday is outside the window and uses the slow interval
    assert PLAN.next_run(datetime(2026, 11, 1, 5, 30, tzinfo=UTC)) == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def test_off_means_around_the_clock() -> None:
    plan = Plan(every=60, outside_every=1800, window=Window.parse("off"))
    assert plan.next_run(toronto(2026, 1, 24, 3, 0)) == toronto(2026, 1, 24, 3, 1)


def test_jitter_stays_small_and_positive() -> None:
    trigger = trigger_for(Plan(every=300, outside_every=1800, window=None, jitter=15))
    now = datetime(2026, 1, 21, 17, 0, tzinfo=UTC)
    for _ in range(200):
        delay = (trigger.get_next_fire_time(None, now) - now).total_seconds()
        assert 300 <= delay <= 315


def test_cron_expression_is_toronto_time() -> None:
    trigger = trigger_for(PLAN, "*/15 8-19 * * mon-fri")
    fire = trigger.get_next_fire_time(None, toronto(2026, 3, 9, 7, 50))
    assert fire.astimezone(UTC) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    with pytest.raises(ScheduleError):
        trigger_for(PLAN, "every day")


def test_jitter_never_swallows_the_interval() -> None:
    from datetime import UTC, datetime

    from crswatch.schedule import Plan

    noon = datetime(2026, 1, 21, 17, tzinfo=UTC)
    assert Plan(every=1, outside_every=1800, window=None, jitter=15).jitter_at(noon) == 0.1
    assert Plan(every=300, outside_every=1800, window=None, jitter=15).jitter_at(noon) == 15
    assert Plan(every=30, outside_every=1800, window=None, jitter=15).jitter_at(noon) == 3
