"""When to check: intervals, the draw window in America/Toronto time, jitter — and `crswatch run`.

IRCC publishes draws on weekdays between about 09:00 and 19:00 Toronto time, so `run` polls every
`every` inside the window (default every minute, mon-fri 08:30-19:30 America/Toronto, a half hour
of margin either side) and every `outside_every` outside it (default 15 minutes), each a
conditional GET (a 304 costs IRCC and crswatch almost nothing): about 710 requests a weekday and
96 a weekend day, and a draw is seen within a minute of its publication (bench/latency.py).
All window arithmetic happens in local Toronto time through zoneinfo, so it is right on both
sides of a daylight-saving change.  The window logic is pure and tested with fixed clocks.

`run` design: one asyncio-based Twisted reactor for the life of the process (Scrapy's reactor
cannot be restarted), APScheduler's AsyncIOScheduler on the same event loop, one async job with
max_instances=1 and coalescing; every tick awaits the same `run_check` coroutine as `check`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .config import ConfigError

TORONTO = ZoneInfo("America/Toronto")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ScheduleError(ConfigError):
    """A schedule setting (flag or [schedule] key) that cannot be read."""


def parse_duration(text: str) -> float:
    """ "30s", "5m", "1h30m", "90" (seconds) → seconds."""
    value = str(text).strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise ScheduleError(f"{text!r} is not a duration (examples: 30s, 5m, 1h30m)")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ScheduleError(f"{text!r}: a duration must be positive")
    return seconds


@dataclass(frozen=True)
class Window:
    """Days and local hours (America/Toronto) when draws are published.  None = always."""

    days: frozenset[int]
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window | None:
        """ "mon-fri 08:00-20:00", "mon,wed 09:00-17:30", or "off"."""
        text = text.strip().lower()
        if text in ("off", "none", ""):
            return None
        match = re.fullmatch(r"([a-z,\-]+)\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", text)
        if not match:
            raise ScheduleError(f"window {text!r} is not like 'mon-fri 08:00-20:00' or 'off'")
        days: set[int] = set()
        for part in match[1].split(","):
            ends = part.split("-")
            if any(e not in DAYS for e in ends) or len(ends) > 2:
                raise ScheduleError(f"window {text!r}: days are mon tue wed thu fri sat sun")
            first, last = DAYS.index(ends[0]), DAYS.index(ends[-1])
            days.update(range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)])
        try:
            start, end = time(int(match[2]), int(match[3])), time(int(match[4]), int(match[5]))
        except ValueError:
            raise ScheduleError(f"window {text!r}: hours are 00:00 to 23:59") from None
        if end <= start:
            raise ScheduleError(f"window {text!r}: it must end after it starts")
        return cls(frozenset(days), start, end)

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(TORONTO)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_open(self, moment: datetime) -> datetime:
        """The next window opening strictly after `moment` (UTC)."""
        local = moment.astimezone(TORONTO)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            opening = datetime.combine(day, self.start, tzinfo=TORONTO)
            if day.weekday() in self.days and opening > local:
                return opening.astimezone(UTC)
        raise AssertionError("a window has at least one day")


JITTER_SHARE = 0.1  # the jitter is at most this share of the interval


@dataclass(frozen=True)
class Plan:
    """How often to check."""

    every: float
    outside_every: float
    window: Window | None
    jitter: float = 0.0  # the configured maximum; see jitter_at

    def jitter_at(self, moment: datetime) -> float:
        """The random delay's bound at `moment`: the configured jitter, but never more than a tenth
        of the interval (a 15 s jitter must not swallow `--every 1s`)."""
        return min(self.jitter, JITTER_SHARE * self.interval_at(moment))

    def interval_at(self, moment: datetime) -> float:
        return self.every if self.window is None or self.window.contains(moment) else self.outside_every

    def next_run(self, now: datetime) -> datetime:
        """Next check after `now`, without jitter: `every` inside the window; outside it,
        `outside_every` or the window's next opening, whichever comes first."""
        step = now + timedelta(seconds=self.interval_at(now))
        if self.window is None or self.window.contains(now):
            return step
        return min(step, self.window.next_open(now))


def plan_of(schedule: object) -> Plan:
    """The Plan of a configuration's [schedule] section."""
    return Plan(
        every=parse_duration(schedule.every),  # type: ignore[attr-defined]
        outside_every=parse_duration(schedule.outside_every),  # type: ignore[attr-defined]
        window=Window.parse(schedule.window),  # type: ignore[attr-defined]
        jitter=parse_duration(schedule.jitter) if str(schedule.jitter).strip() not in ("", "0") else 0.0,  # type: ignore[attr-defined]
    )


def checked_plan(schedule: object) -> Plan:
    """The Plan of a [schedule] section with every key checked as `run` will read it, at load time
    (so a bad schedule fails at any command, `check` included, not the first time `run` starts):
    a crontab expression through APScheduler's own parser (imported only when one is given), an
    interval inside the window that must divide an hour."""
    plan = plan_of(schedule)
    cron = str(schedule.cron)  # type: ignore[attr-defined]
    if cron:
        trigger_for(plan, cron)
    elif plan.window is not None:
        _window_fields(plan.window, plan.every)
    return plan


def described(plan: Plan, cron: str = "") -> dict[str, object]:
    """A plan as `crswatch config` shows it: what the [schedule] strings were read as, each
    jitter as applied (at most a tenth of its interval; a crontab expression gets none)."""
    if cron:
        return {"cron": cron, "timezone": str(TORONTO), "jitter_seconds": 0.0}
    window = plan.window
    return {
        "every_seconds": plan.every,
        "window": None
        if window is None
        else {
            "days": [DAYS[d] for d in sorted(window.days)],
            "start": window.start.strftime("%H:%M"),
            "end": window.end.strftime("%H:%M"),
            "timezone": str(TORONTO),
        },
        "outside_every_seconds": plan.outside_every if window is not None else None,
        "jitter_seconds": _jitter(plan, plan.every),
        "outside_jitter_seconds": _jitter(plan, plan.outside_every) if window is not None else None,
    }


def trigger_for(plan: Plan, cron: str = "") -> object:
    """An APScheduler trigger made of its public triggers: a crontab expression (Toronto time), or
    the plan as an `OrTrigger` of `CronTrigger`s in Toronto time (one fires every `every` inside
    the window, one every `outside_every` all day; where both fire at once, it is one run), each
    with its own jitter.  Daylight-saving changes are the cron triggers' business."""
    from apscheduler.triggers.combining import OrTrigger
    from apscheduler.triggers.cron import CronTrigger

    if cron:
        try:
            return CronTrigger.from_crontab(cron, timezone=TORONTO)
        except ValueError as exc:
            raise ScheduleError(f"cron {cron!r}: {exc}") from None
    if plan.window is None:
        return _every(plan.every, _jitter(plan, plan.every))
    try:
        inside = [CronTrigger(day_of_week=_days(plan.window), hour=hour, minute=minute, second=second, timezone=TORONTO,
                              jitter=_jitter(plan, plan.every) or None)
                  for hour, minute, second in _window_fields(plan.window, plan.every)]  # fmt: skip
    except ValueError as exc:  # (a field this module made that APScheduler refuses: a bug, said as one line)
        raise ScheduleError(f"window {plan.window}: {exc}") from None
    return OrTrigger([*inside, _every(plan.outside_every, _jitter(plan, plan.outside_every))])


def _jitter(plan: Plan, interval: float) -> float:
    return min(plan.jitter, JITTER_SHARE * interval)


def _every(seconds: float, jitter: float) -> object:
    """Every `seconds`, all day: on the clock's round marks when the step divides a minute, an hour
    or a day (so that it meets the window's trigger and runs once), else from now on."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    fields = _step_fields(seconds)
    if fields is None:
        return IntervalTrigger(seconds=seconds, jitter=jitter or None, timezone=TORONTO)
    second, minute, hour = fields
    return CronTrigger(hour=hour, minute=minute, second=second, timezone=TORONTO, jitter=jitter or None)


def _step_fields(seconds: float) -> tuple[str, str, str] | None:
    """(second, minute, hour) cron fields for a step that divides a minute, an hour or a day."""
    step = int(seconds)
    if step != seconds:
        return None
    if step < 60 and 60 % step == 0:
        return f"*/{step}", "*", "*"
    if step % 60 == 0 and step < 3600 and 3600 % step == 0:
        return "0", f"*/{step // 60}", "*"
    if step % 3600 == 0 and 86400 % step == 0:
        return "0", "0", f"*/{step // 3600}"
    return None


def _window_fields(window: Window, every: float) -> list[tuple[str, str, str]]:
    """(hour, minute, second) cron fields for every `every` from the window's start to its end:
    a first partial hour, the whole hours, a last partial hour."""
    fields = _step_fields(every)
    if fields is None or every >= 3600:
        raise ScheduleError(
            f"every {every:g}s inside a window: it must divide an hour (examples: 10s, 30s, 1m, 2m, 5m, 15m)"
        )
    second, minute_step, _ = fields
    step = minute_step.partition("/")[2]

    def minutes(first: int, last: int) -> str:
        if step and int(step) > last - first:
            return str(first)  # the only run of a span shorter than the step (cron refuses "58-59/5")
        span = "*" if (first, last) == (0, 59) else f"{first}-{last}"
        return f"{span}/{step}" if step else span

    start, end = window.start, window.end
    if start.hour == end.hour:
        return [(str(start.hour), minutes(start.minute, end.minute - 1), second)]
    pieces = []
    whole_from = start.hour if start.minute == 0 else start.hour + 1
    if start.minute:
        pieces.append((str(start.hour), minutes(start.minute, 59), second))
    if whole_from <= end.hour - 1:
        pieces.append((f"{whole_from}-{end.hour - 1}", minutes(0, 59), second))
    if end.minute:
        pieces.append((str(end.hour), minutes(0, end.minute - 1), second))
    return pieces


def _days(window: Window) -> str:
    return ",".join(DAYS[day] for day in sorted(window.days))


def expected_interval(plan: Plan, cron: str, since: datetime) -> float:
    """Seconds between the check at `since` and the next one the schedule asks for."""
    if cron:
        trigger = trigger_for(plan, cron)
        upcoming: datetime = trigger.get_next_fire_time(None, since)  # type: ignore[attr-defined]
        return max(1.0, (upcoming.astimezone(UTC) - since).total_seconds())
    return (plan.next_run(since) - since).total_seconds()
