"""The draw window and intervals, with fixed clocks on both sides of daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crswatch.config import Schedule
from crswatch.schedule import TORONTO, Plan, ScheduleError, Window, checked_plan, parse_duration, trigger_for

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
    now = datetime(2026, 1, 21, 17, 0, 1, tzinfo=UTC)  # the next five-minute mark is 17:05
    for _ in range(200):
        delay = (trigger.get_next_fire_time(now, now) - now).total_seconds()
        assert 299 <= delay <= 314


def _fires(trigger: object, start: datetime, end: datetime) -> list[datetime]:
    """The fire times of a trigger from `start` to `end`, as APScheduler asks for them: each after the last."""
    fires: list[datetime] = []
    now, previous = start, None
    while (fire := trigger.get_next_fire_time(previous, now)) < end:  # type: ignore[attr-defined]
        fires.append(fire)
        previous = now = fire
    return fires


def test_the_default_schedule_polls_every_minute_in_the_publication_window_and_stays_under_1000_a_day() -> None:
    from apscheduler.triggers.combining import OrTrigger

    from crswatch.config import Schedule
    from crswatch.schedule import plan_of

    plan = plan_of(Schedule())
    trigger = trigger_for(plan)
    assert isinstance(trigger, OrTrigger)  # APScheduler's own triggers, combined
    monday = datetime(2026, 3, 2, tzinfo=TORONTO)  # a week with a daylight-saving change on its Sunday
    fires = _fires(trigger, monday.astimezone(UTC), (monday + timedelta(days=7)).astimezone(UTC))
    per_day: dict[int, int] = {}
    for fire in fires:
        per_day[fire.astimezone(TORONTO).day] = per_day.get(fire.astimezone(TORONTO).day, 0) + 1
    assert per_day == {2: 712, 3: 712, 4: 712, 5: 712, 6: 712, 7: 96, 8: 92}  # the Sunday of the change has 23 hours
    assert max(per_day.values()) <= 1000
    inside = [
        f
        for f in fires
        if f.astimezone(TORONTO).weekday() < 5 and time(8, 30) <= f.astimezone(TORONTO).time() < time(19, 30)
    ]
    gaps = [(b - a).total_seconds() for a, b in zip(inside, inside[1:]) if b - a < timedelta(hours=1)]
    assert len(inside) == 5 * 660 and max(gaps) <= 60 + 6 and min(gaps) >= 60 - 6  # each minute, jitter ≤ 6 s
    outside = [f for f in fires if f not in inside]
    assert all(f.astimezone(TORONTO).minute % 15 == 0 and f.astimezone(TORONTO).second <= 15 for f in outside)
    assert min(f.astimezone(TORONTO).time() for f in inside) >= time(8, 30) and max(
        f.astimezone(TORONTO).time() for f in inside
    ) < time(19, 29, 10)


def test_the_window_is_local_time_after_a_daylight_saving_change() -> None:
    trigger = trigger_for(Plan(every=60, outside_every=900, window=Window.parse("mon-fri 08:30-19:30")))
    for monday in (
        datetime(2026, 3, 2, 8, 29, 30, tzinfo=TORONTO),
        datetime(2026, 3, 9, 8, 29, 30, tzinfo=TORONTO),
    ):  # EST, then EDT
        assert trigger.get_next_fire_time(None, monday.astimezone(UTC)) == datetime.combine(
            monday.date(), time(8, 30), TORONTO
        )  # type: ignore[attr-defined]


@pytest.mark.parametrize("every", [45, 7 * 60, 3600])
def test_inside_a_window_the_interval_must_divide_an_hour(every: float) -> None:
    with pytest.raises(ScheduleError, match="must divide an hour"):
        trigger_for(Plan(every=every, outside_every=1800, window=WINDOW))
    trigger_for(Plan(every=every, outside_every=1800, window=None))  # around the clock, any interval


def test_no_private_apscheduler_method_is_used() -> None:
    from pathlib import Path

    import crswatch.schedule

    assert "._" not in Path(crswatch.schedule.__file__).read_text().replace("self._", "")


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


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 23 * 60 + 58),
    st.integers(1, 24 * 60 - 1),
    st.sampled_from(["10s", "30s", "1m", "2m", "5m", "10m", "15m", "20m", "30m"]),
)
def test_property_a_schedule_read_at_load_time_is_one_run_can_start(start: int, length: int, every: str) -> None:
    """What `checked_plan` accepts when the configuration is read, APScheduler accepts when `run`
    starts (a window of 08:58-19:30 every 5 minutes once made the cron field "58-59/5")."""
    end = min(start + length, 23 * 60 + 59)
    window = f"mon-fri {start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    plan = checked_plan(Schedule(every=every, window=window))
    trigger_for(plan)  # raises if a field is refused


def test_a_window_shorter_than_its_step_at_an_edge_runs_once_there() -> None:
    plan = checked_plan(Schedule(every="5m", window="mon-fri 08:58-19:30"))
    trigger = trigger_for(plan)
    monday = datetime(2026, 1, 19, 8, 50, tzinfo=TORONTO)
    first = trigger.get_next_fire_time(None, monday)  # type: ignore[attr-defined]
    assert first is not None and first.astimezone(TORONTO).strftime("%H:%M") == "08:58"
