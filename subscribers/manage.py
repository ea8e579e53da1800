"""Subscriber operations shared by the CLI (and later the web form): validate, then store.

Every operation validates all its input first and raises `Invalid` (one line per problem)
before anything is written, so a rejected command leaves the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from crswatch.draws.streams import SUBSCRIBABLE

from . import store, validate
from .model import ACTIVE, INSTANT, PAUSED, Subscriber, hash_token, new_token
from .profile import ceiling_of, score_today
from .profile import check as check_profile
from .validate import ChannelCheck, Invalid


@dataclass(frozen=True)
class Defaults:
    within: int
    streams: tuple[str, ...]
    choices: tuple[str, ...] = SUBSCRIBABLE  # the streams a subscriber may choose
    rules: tuple[Any, ...] = ()  # an operator's CRS grid versions (`[crs] rules`), for scoring profiles


def subscribe(
    tx: Connection,
    *,
    score: Any,
    channels: Iterable[str],
    check: ChannelCheck,
    defaults: Defaults,
    within: Any = None,
    streams: Iterable[str] = (),
    profile_created: str | datetime | None = None,
    name: str | None = None,
    language: str | None = None,
    now: datetime | None = None,
    profile: str | None = None,
    reminders: bool | None = None,
    cadence: str | None = None,
    pool_alerts: bool | None = None,
) -> tuple[Subscriber, bool]:
    """A new subscriber, or — when one of the channels is already subscribed — that subscriber
    updated with what was given.  Returns (subscriber, created).  With a CRS `profile` (the text
    of the candidate's file), every verdict uses the profile's score on the draw's date; the stored
    score is the profile's today unless `score` is given too."""
    now = now or datetime.now(UTC)
    streams = tuple(streams)
    if score is None and profile is None:
        raise Invalid(["give a CRS score (--score) or a profile (--profile)"])
    values = validate.collect(
        {
            "score": lambda: validate.score(score) if score is not None else None,
            "profile": lambda: check_profile(profile) if profile is not None else None,
            "within": lambda: validate.within(within) if within is not None else None,
            "streams": lambda: validate.streams(streams, defaults.choices) if streams else None,
            "profile_created": lambda: validate.profile_created(profile_created, now),
            "name": lambda: validate.name(name),
            "language": lambda: validate.language(language),
            "cadence": lambda: validate.cadence(cadence),
            "pool_alerts": lambda: validate.flag(pool_alerts, "pool_alerts"),
            "channels": lambda: validate.channels(channels, check),
        }
    )
    values["reminders"] = reminders  # None: the default, on for a profile subscriber
    with_profile(values, now, defaults.rules)
    owners = set(store.owners(tx, (c.url for c in values["channels"])).values())
    if len(owners) > 1:
        raise Invalid(
            [f"these channels belong to different subscribers ({', '.join(sorted(owners))}); update them one by one"]
        )
    if owners:
        found = store.require(tx, owners.pop())
        updated = merged(found.subscriber, values)
        store.replace_all(tx, [(found, updated)])
        return updated, False
    subscriber = new_subscriber(tx, values, defaults, now)
    store.insert(tx, [subscriber])
    return subscriber, True


def new_subscriber(
    tx: Connection, values: dict[str, Any], defaults: Defaults, now: datetime, taken: set[str] | None = None
) -> Subscriber:
    subscriber_id = store.unique_id(tx, taken)
    token = new_token(subscriber_id)
    return Subscriber(
        id=subscriber_id,
        score=values["score"],
        channels=values["channels"],
        created_at=now,
        token_hash=hash_token(token),
        token=token,
        within=values["within"] if values["within"] is not None else defaults.within,
        streams=values["streams"] or defaults.streams,
        name=values["name"],
        profile_created=values["profile_created"],
        language=values.get("language") or "en",
        profile=values.get("profile"),
        profile_ceiling=values.get("profile_ceiling"),
        reminders=values.get("reminders"),
        cadence=values.get("cadence") or INSTANT,
        pool_alerts=bool(values.get("pool_alerts")),
    )


def with_profile(values: dict[str, Any], now: datetime, rules: tuple[Any, ...]) -> None:
    """A checked profile in `values` becomes what is stored, today's score (unless one was typed)
    and the submission time (unless one was given)."""
    checked = values.pop("profile", None)
    if checked is None:
        return
    stored, submitted = checked
    values["profile"] = stored
    values["profile_ceiling"] = ceiling_of(stored, now, rules)
    if values.get("score") is None:
        values["score"] = score_today(stored, now, rules)
    if values.get("profile_created") is None and submitted is not None:
        values["profile_created"] = validate.profile_created(submitted.isoformat(), now)


def merged(base: Subscriber, values: dict[str, Any]) -> Subscriber:
    """`base` with the given values; channels are added to the ones it has, and a channel naming
    a destination it has already replaces that one (the newer spelling: a new password, say)."""
    given = {c.key: c for c in values["channels"]}
    kept = tuple(given.pop(c.key, c) for c in base.channels)
    return base.with_changes(**{**values, "channels": kept + tuple(given.values())})


def update(
    tx: Connection,
    key: str,
    *,
    check: ChannelCheck,
    score: Any = None,
    within: Any = None,
    streams: Iterable[str] = (),
    channels: Iterable[str] = (),
    profile_created: str | datetime | None = None,
    name: str | None = None,
    language: str | None = None,
    now: datetime | None = None,
    choices: tuple[str, ...] = SUBSCRIBABLE,
    profile: str | None = None,
    rules: tuple[Any, ...] = (),
    reminders: bool | None = None,
    cadence: str | None = None,
    pool_alerts: bool | None = None,
) -> Subscriber:
    """Change what was given; channels given replace the subscriber's channels.  A `profile`
    replaces the subscriber's (and today's score with it); a `score` given alone replaces the
    profile: the subscriber goes back to a typed score and the profile is erased."""
    streams, channels = tuple(streams), tuple(channels)
    now = now or datetime.now(UTC)
    found = store.require(tx, key)
    values = validate.collect(
        {
            "score": lambda: validate.score(score) if score is not None else None,
            "profile": lambda: check_profile(profile) if profile is not None else None,
            "within": lambda: validate.within(within) if within is not None else None,
            "streams": lambda: validate.streams(streams, choices) if streams else None,
            "profile_created": lambda: validate.profile_created(profile_created, now),
            "name": lambda: validate.name(name),
            "language": lambda: validate.language(language),
            "cadence": lambda: validate.cadence(cadence),
            "pool_alerts": lambda: validate.flag(pool_alerts, "pool_alerts"),
            "channels": lambda: validate.channels(channels, check) if channels else None,
        }
    )
    if values["channels"]:
        others = set(store.owners(tx, (c.url for c in values["channels"])).values()) - {found.subscriber.id}
        if others:
            raise Invalid([f"a channel given is already used by subscriber {sorted(others)[0]}"])
    values["reminders"] = reminders
    if all(v is None for v in values.values()):
        raise Invalid(
            [
                "nothing to change: give --score, --profile, --within, --stream, --notify, --profile-created, --name, --language, "
                "--reminders/--no-reminders, --cadence or --pool-alerts/--no-pool-alerts"
            ]
        )
    typed_only = values["score"] is not None and values["profile"] is None
    with_profile(values, now, rules)
    updated = found.subscriber.with_changes(**values)
    if typed_only:
        updated = replace(updated, profile=None, profile_ceiling=None)
    store.replace_all(tx, [(found, updated)])
    return updated


def set_status(tx: Connection, key: str, active: bool) -> Subscriber:
    found = store.require(tx, key)
    updated = found.subscriber.with_changes(status=ACTIVE if active else PAUSED)
    store.replace_all(tx, [(found, updated)])
    return updated


def unsubscribe(tx: Connection, key: str) -> Subscriber:
    found = store.require(tx, key)
    store.delete(tx, found)
    return found.subscriber
