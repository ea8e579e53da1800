"""Fan-out: which subscriber hears about which new or corrected draw (deliveries to queue)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from crswatch.draws.match import Verdict, may_concern, verdict
from crswatch.draws.record import Draw, StoredDraw, from_iso
from crswatch.subscribers.model import Subscriber

from .message import CORRECTION, LATE, NEW
from .outbox import Delivery, delivery_id
from .periodic import immediate
from .tables import deliveries as _deliveries

#: "Today" for the limit of one correction a day is Ottawa's day, IRCC's.
OTTAWA = ZoneInfo("America/Toronto")


def plan(
    new: list[tuple[Draw, StoredDraw]],
    changed: list[tuple[Draw, StoredDraw, StoredDraw]],
    subscribers: Iterable[Subscriber],
    now: datetime,
    late: Sequence[tuple[Draw, StoredDraw]] = (),
    rules: tuple[Any, ...] = (),
    corrected: Collection[tuple[str, str]] = (),
    unscored: list[str] | None = None,
) -> list[Delivery]:
    """Deliveries for new draws and for corrections whose verdict changed, oldest draw first.

    `new` holds (draw, stored record); `changed` holds (draw, stored record, previous record);
    `late` holds (draw, record while it was `other`) for draws whose name was recognised only
    now: those who hear of it now and did not before get one alert, marked late.
    Only active subscribers who subscribed before a draw was first seen are alerted about it.
    A subscriber on a daily or weekly digest gets only what may be an invitation at once (and
    corrections of such an alert); the rest waits for their digest (`periodic.immediate`).
    A subscriber with a CRS profile is matched with the profile's score on the draw's date
    (`rules`: an operator's grid versions).
    `corrected` holds the (draw, subscriber) pairs already sent a correction today (Ottawa's day):
    they get no other that day unless the verdict becomes "invited", so a draw that IRCC (or a
    CDN) keeps editing costs each subscriber at most one correction a day.
    A profile that cannot be scored on a draw's date (a day before the oldest grid crswatch
    knows) gives no verdict: that subscriber is left out of that draw, and `unscored` gets one
    line saying who and why (never a silent 0, which would read as "far below the cut-off").
    """
    deliveries: list[Delivery] = []
    people = [sub for sub in subscribers if sub.active]
    for draw, record, previous, kind in _work(new, changed, late):
        first_seen = from_iso(record.get("first_seen")) or now  # the record keeps it as text
        revision = record.get("revision", 0)
        for sub in people:
            if sub.created_at >= first_seen:
                continue  # subscribed after the draw was first seen
            try:
                scored, said, before = _verdicts(sub, draw, previous, rules)
            except Unscorable as exc:
                if unscored is not None:
                    unscored.append(f"draw #{draw.number} ({draw.date}): subscriber {sub.id} not matched: {exc}")
                continue
            if _tells(kind, said, before, previous is not None, sub.cadence, (draw.number, sub.id) in corrected):
                deliveries += _for_channels(sub, draw, revision, kind, said, previous, scored, now, len(deliveries))
    return deliveries


def _work(
    new: list[tuple[Draw, StoredDraw]],
    changed: list[tuple[Draw, StoredDraw, StoredDraw]],
    late: Sequence[tuple[Draw, StoredDraw]],
) -> list[tuple[Draw, StoredDraw, StoredDraw | None, str]]:
    """(draw, record, previous record or None, kind) for everything to tell, oldest draw first."""
    work: list[tuple[Draw, StoredDraw, StoredDraw | None, str]] = [(draw, record, None, NEW) for draw, record in new]
    work += [(draw, record, previous, CORRECTION) for draw, record, previous in changed]
    work += [(draw, previous, previous, LATE) for draw, previous in late]
    work.sort(key=lambda item: (item[0].date, item[1].get("first_seen", "")))
    return work


def _verdicts(
    sub: Subscriber, draw: Draw, previous: StoredDraw | None, rules: tuple[Any, ...]
) -> tuple[int | None, Verdict | None, Verdict | None]:
    """(profile score on the draw's date, verdict now, verdict on the previous record): the scores
    are None without a profile, the verdict before None without a previous record.  Raises
    `Unscorable` for a profile that cannot be scored on either date."""
    profile = sub.profile
    scored = profile_score(profile, draw.date, rules) if profile else None
    before_score = profile_score(profile, _day(previous, draw), rules) if profile and previous else None
    said = _verdict(draw.stream, draw.crs, draw.tie_break, sub, scored)
    before = (
        None
        if previous is None
        else _verdict(previous["stream"], previous["crs"], from_iso(previous.get("tie_break")), sub, before_score)
    )
    return scored, said, before


def _tells(
    kind: str, said: Verdict | None, before: Verdict | None, changed: bool, cadence: str, corrected: bool
) -> bool:
    """Whether this subscriber hears of this draw now (an alert, a correction or a late alert)."""
    if not changed:
        return said is not None and immediate(
            cadence, said
        )  # a digest subscriber reads of it in their digest, unless it may be an invitation
    if before == said or (kind == LATE and (before is not None or said is None)):
        return False  # nothing new to say; a late alert only for those who heard nothing
    if kind == CORRECTION and corrected and said != Verdict.INVITED:
        return False  # one correction a day is enough, unless it says "invited"
    return immediate(cadence, said, before if kind == CORRECTION else None)  # else the digest tells it


def _for_channels(sub: Subscriber, draw: Draw, revision: int, kind: str, said: Verdict | None, previous: StoredDraw | None,
                  scored: int | None, now: datetime, seq: int) -> list[Delivery]:  # fmt: skip
    """One delivery per channel of the subscriber, numbered from `seq` (the fan-out's order)."""
    found: list[Delivery] = []
    for channel in sub.channels:
        found.append(
            Delivery(
                id=delivery_id(draw.number, revision, sub.id, channel.key, kind),
                draw=draw.number,
                revision=revision,
                subscriber=sub.id,
                channel=channel.key,
                masked=channel.masked,
                verdict=said.value if said else None,
                kind=kind,
                queued_at=now,
                seq=seq + len(found),
                previous=_summary(previous)
                if previous and kind == CORRECTION
                else _late(previous)
                if kind == LATE and previous
                else None,
                payload={"score": scored, "on": draw.date.isoformat()}
                if scored is not None
                else None,  # what the alert says
            )
        )
    return found


def corrected_today(conn: Connection, draws: Collection[str], now: datetime) -> set[tuple[str, str]]:
    """(draw, subscriber) pairs queued a correction of one of `draws` since Ottawa's midnight."""
    midnight = datetime.combine(now.astimezone(OTTAWA).date(), time(), OTTAWA).astimezone(UTC)
    query = select(_deliveries.c.draw, _deliveries.c.subscriber).where(
        _deliveries.c.kind == CORRECTION,
        _deliveries.c.draw.in_(list(draws)),
        _deliveries.c.queued_at >= midnight,
    )
    return {(draw, subscriber) for draw, subscriber in conn.execute(query).all()} if draws else set()


def _verdict(stream: str, crs: int, tie_break: datetime | None, sub: Subscriber, scored: int | None) -> Verdict | None:
    """`scored`: a profile's score on the draw's date, which then stands for the typed score."""
    score, within, streams = sub.score if scored is None else scored, sub.within, sub.streams
    if not may_concern(stream=stream, crs=crs, score=score, within=within, streams=streams):
        return None  # the profile time is read only for the few it may concern
    return verdict(stream=stream, crs=crs, tie_break=tie_break, score=score, within=within, streams=streams,
                   profile_created=sub.profile_created)  # fmt: skip


class Unscorable(ValueError):
    """A profile has no score on a draw's date (no grid applies then, or the day is before the
    date of birth): no verdict is possible, and the message says why (it names no personal data)."""


def profile_score(stored: str, day: date, rules: tuple[Any, ...]) -> int:
    """A profile's score on a draw's date; `Unscorable` where none can be given."""
    from crswatch.draws.crs import ProfileError, RulesError
    from crswatch.subscribers.profile import score_on

    try:
        return score_on(stored, day, rules)
    except RulesError as exc:
        raise Unscorable(str(exc)) from None
    except (ProfileError, ValueError):
        raise Unscorable(
            f"the profile cannot be scored on {day} (a day before the date of birth, or a profile this crswatch cannot read)"
        ) from None


def _day(record: StoredDraw, draw: Draw) -> date:
    value = record.get("date")
    return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else draw.date


def _late(record: StoredDraw) -> dict[str, Any]:
    return {"first_seen": record.get("first_seen"), "stream": record.get("stream")}


def _summary(record: StoredDraw) -> dict[str, Any]:
    return {k: record.get(k) for k in ("crs", "invitations", "tie_break", "stream")}
