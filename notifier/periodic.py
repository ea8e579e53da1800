"""Pool alerts and digests: who hears what, when a new pool distribution appears or a digest
period ends.  Pure planning over records (no store, no clock of its own), table-tested like
the matching rule; the shell gathers the inputs and queues what comes out.  The store plans the
same deliveries in SQL (`notifier.periodic_sql`) for everyone whose score is the one they typed;
this planning serves profiles (scored on each date) and is the reference a test holds SQL to.

- A **pool alert** goes to each active subscriber who asked for them (`pool_alerts`) and hears
  instantly, once per distribution (a new `drawDistributionAsOn`): how many candidates are at or
  above their score's band now, the change since the distribution before, and an estimated rank.
  Subscribers on a digest read the same figures in their digest instead.
- A **digest** (cadence `daily` or `weekly`) lists the period's draws open to the subscriber with
  their verdict for each, the pool's change and the next-draw forecasts; nothing is planned for a
  period with nothing to say.  Its delivery id is (period, subscriber, channel): never twice.
- `immediate` decides which draw alerts a digest subscriber still gets at once: anything that
  says they may have been invited, and any correction of such an alert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from crswatch.draws.match import Verdict, verdict
from crswatch.draws.record import OTTAWA, from_iso
from crswatch.subscribers.model import DAILY, INSTANT, WEEKLY, Subscriber

from .outbox import Delivery
from .standing import Standings, published

POOL, DIGEST = "pool", "digest"  # delivery (and announcement) kinds besides new / correction / late
#: Verdicts a digest never holds back: the candidate may have an invitation waiting.
URGENT = frozenset({Verdict.INVITED, Verdict.AT_CUTOFF})
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CATCH_UP = {DAILY: 31, WEEKLY: 5}  # periods missed while nothing ran that are still sent, at most
#: A profile subscriber's score on a day (`crswatch.periodic.score_on`); without one, the typed score.
ScoreOn = Callable[[Subscriber, date], int]


def immediate(cadence: str, said: Verdict | None, before: Verdict | None = None) -> bool:
    """Whether a draw alert goes out now: always for instant subscribers; for a digest's, only a
    verdict that may mean an invitation, or a correction of an alert that said so (they heard it
    at once, so they must hear at once that it changed)."""
    return cadence == INSTANT or said in URGENT or before in URGENT


# --------------------------------------------------------------------------------- pool alerts


def plan_pool(distribution: Mapping[str, Any], subscribers: Iterable[Subscriber], now: datetime,
              score_on: ScoreOn | None = None, first_seq: int = 0) -> Iterator[Delivery]:  # fmt: skip
    """One delivery per channel of each active, instant subscriber who asked for pool alerts and
    subscribed before the distribution appeared.  `distribution`: as_of, pool, previous_pool.
    `score_on(subscriber, day)`: a profile's score on a day (None: the typed score)."""
    as_of, standings = distribution["as_of"], Standings(distribution["pool"], distribution.get("previous_pool"))
    day = date.fromisoformat(as_of)
    payloads: dict[tuple[int, bool], dict[str, Any]] = {}  # one per score: the outbox encodes each once
    seq = first_seq
    for sub in subscribers:
        if not sub.active or not sub.pool_alerts or sub.cadence != INSTANT or sub.created_at >= now:
            continue  # (subscribed once it was seen: not theirs)
        scored = score_on(sub, day) if score_on and sub.profile else None
        score = sub.score if scored is None else scored
        payload = payloads.get((score, scored is not None))
        if payload is None:
            payload = payloads[score, scored is not None] = standings.doc(score) | {"from_profile": scored is not None}
        yield from _per_channel(sub, as_of, POOL, now, payload, seq)
        seq += len(sub.channels)


def _per_channel(
    sub: Subscriber, key: str, kind: str, seen: datetime, payload: dict[str, Any], seq: int
) -> list[Delivery]:
    return [
        Delivery(id=f"{kind}/{key}/{sub.id}/{channel.key}", draw=key, revision=0, subscriber=sub.id, channel=channel.key,
                 masked=channel.masked, verdict=None, kind=kind, queued_at=seen, seq=seq + i, payload=payload)
        for i, channel in enumerate(sub.channels)
    ]  # fmt: skip


# ------------------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """A digest period: from `start` to `end` (UTC), ending at the digest hour in Ottawa."""

    cadence: str
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """d2026-01-22 or w2026-01-24: the cadence's letter and the Ottawa day it ends (and is sent)."""
        return f"{self.cadence[0]}{self.end.astimezone(OTTAWA).date().isoformat()}"


def _ending(cadence: str, day: date, hour: int) -> Period:
    end = datetime.combine(day, time(hour), OTTAWA)
    start = datetime.combine(day - timedelta(days=1 if cadence == DAILY else 7), time(hour), OTTAWA)
    return Period(cadence, start.astimezone(UTC), end.astimezone(UTC))


def due_periods(cadence: str, now: datetime, hour: int, weekday: str, last_key: str | None) -> list[Period]:
    """The periods of `cadence` that have ended by `now` and come after `last_key` (the last one
    planned), oldest first: the latest only when none was planned yet, and at most CATCH_UP."""
    step = 1 if cadence == DAILY else 7
    day = now.astimezone(OTTAWA).date()
    if cadence == WEEKLY:
        day -= timedelta(days=(day.weekday() - WEEKDAYS.index(weekday)) % 7)
    latest = _ending(cadence, day, hour)
    if latest.end > now:
        latest = _ending(cadence, day - timedelta(days=step), hour)
    found = [latest]
    while last_key is not None and len(found) < CATCH_UP[cadence]:
        earlier = _ending(cadence, found[-1].end.astimezone(OTTAWA).date() - timedelta(days=step), hour)
        if earlier.key <= last_key:
            break
        found.append(earlier)
    return [p for p in reversed(found) if last_key is None or p.key > last_key]


# ------------------------------------------------------------------------------------- digests


@dataclass(frozen=True)
class Contents:
    """What happened in a period, for every subscriber alike: its draws (the latest record of each
    draw announced in it, oldest first) and the pool's distributions before and after it."""

    draws: Sequence[Mapping[str, Any]]
    pool: Mapping[str, Any] | None = None  # as_of, pool, previous_as_of, previous_pool
    seen: Mapping[str, datetime] | None = None  # draw number → when it was first seen (any host)


_moment = lru_cache(maxsize=256)(from_iso)  # a draw's tie-break, read for every subscriber


def label(said: Verdict | None, gap: int, within: int) -> str:
    """A digest line's verdict code: what `whatif` says, as a code the message translates."""
    if said is Verdict.INVITED:
        return "invited"
    if said is Verdict.AT_CUTOFF:
        return "at_cutoff"
    if said is Verdict.JUST_MISSED:
        return "just_missed"
    return "close" if gap <= within else "below"


def digest_lines(contents: Contents, sub: Subscriber, score_on: ScoreOn | None = None) -> tuple[list[list[Any]], int]:
    """([number, verdict code, points short, score used] for each open draw, draws not open)."""
    lines, others = [], 0
    for record in contents.draws:
        first = (contents.seen or {}).get(record["number"])
        if first is not None and first <= sub.created_at:
            continue  # first seen before they subscribed: not theirs to hear about
        day = date.fromisoformat(record["date"])
        scored = score_on(sub, day) if score_on and sub.profile else None
        score = sub.score if scored is None else scored
        said = verdict(stream=record["stream"], crs=record["crs"], tie_break=_moment(record.get("tie_break")), score=score, within=1200,
                       streams=sub.streams, profile_created=sub.profile_created)  # fmt: skip
        if said is None:
            others += 1
            continue
        gap = record["crs"] - score
        lines.append([record["number"], label(said, gap, sub.within), max(gap, 0), score])
    return lines, others


def _lines(
    contents: Contents,
    sub: Subscriber,
    score_on: ScoreOn | None,
    known: dict[tuple[Any, ...], tuple[list[list[Any]], int]],
) -> tuple[list[list[Any]], int]:
    """`digest_lines`, once for every subscriber who would get the same (typed score, margin,
    streams, profile time, and which draws came after they subscribed): 100,000 share few."""
    if sub.profile and score_on:
        return digest_lines(contents, sub, score_on)
    seen = contents.seen or {}
    key = (sub.score, sub.within, sub.streams, sub.profile_created,
           tuple(r["number"] not in seen or seen[r["number"]] > sub.created_at for r in contents.draws))  # fmt: skip
    found = known.get(key)
    if found is None:
        found = known[key] = digest_lines(contents, sub, None)
    return found


def plan_digests(period: Period, contents: Contents, subscribers: Iterable[Subscriber], now: datetime,
                 score_on: ScoreOn | None = None, first_seq: int = 0) -> Iterator[Delivery]:  # fmt: skip
    """One digest per channel of each active subscriber on this period's cadence who has
    something to hear: a draw open to them, or a new pool distribution."""
    pool = contents.pool
    standings = Standings(pool["pool"], pool.get("previous_pool")) if pool is not None else None
    known: dict[tuple[Any, ...], tuple[list[list[Any]], int]] = {}
    # one payload for every digest with the same lines and figures (both shared objects): the
    # outbox encodes it once; the payload holds both, so their ids stay theirs
    payloads: dict[tuple[int, int], dict[str, Any]] = {}
    seq = first_seq
    for sub in subscribers:
        if not sub.active or sub.cadence != period.cadence or sub.created_at >= period.end:
            continue
        lines, others = _lines(contents, sub, score_on, known)
        figures = None
        if pool is not None and standings is not None:
            scored = score_on(sub, date.fromisoformat(pool["as_of"])) if score_on and sub.profile else None
            figures = standings.doc(sub.score if scored is None else scored)
        if not lines and figures is None:
            continue  # nothing to say: no digest
        shared = not (score_on and sub.profile)  # a profile's lines and figures are its own
        payload = payloads.get((id(lines), id(figures))) if shared else None
        if payload is None:
            payload = {"draws": lines, "others": others, "pool": figures}
            if shared:
                payloads[id(lines), id(figures)] = payload
        yield from _per_channel(sub, period.key, DIGEST, now, payload, seq)
        seq += len(sub.channels)


def new_distribution(records: Iterable[Mapping[str, Any]], new: Iterable[str]) -> dict[str, Any] | None:
    """The distribution the draws numbered `new` brought, if it is newer than every one stored
    before them: {as_of, pool, draw, previous_as_of, previous_pool}; None otherwise.  Draws of one
    week share a distribution, so most new draws bring none; several new ones in one check (after
    downtime) bring only the newest, compared with the one subscribers last heard of."""
    fresh = set(new)
    latest: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    for record in records:
        if not record.get("pool_as_of") or not published(record.get("pool")):
            continue
        if record["number"] in fresh:
            if latest is None or (record["pool_as_of"], record["date"]) > (latest["pool_as_of"], latest["date"]):
                latest = dict(record)
        elif before is None or (record["pool_as_of"], record["date"]) > (before["pool_as_of"], before["date"]):
            before = dict(record)
    if latest is None or (before is not None and latest["pool_as_of"] <= before["pool_as_of"]):
        return None
    return {"as_of": latest["pool_as_of"], "pool": latest["pool"], "draw": latest["number"],
            "previous_as_of": before["pool_as_of"] if before else None, "previous_pool": before["pool"] if before else None}  # fmt: skip
