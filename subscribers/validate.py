"""Validation of subscriber input, shared by the CLI, CSV import and (later) the web form.

Each function returns the clean value or raises `Problem` with one readable sentence.  Channel
URLs are checked by a function the caller passes in (the notifier's apprise wrapper), so this
stage does not depend on the one downstream of it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from typing import Any

from crswatch.draws.streams import SUBSCRIBABLE

from .identity import destination_key
from .model import CADENCES, LANGUAGES, Channel

# URL → its masked form when usable; raises ValueError saying why not (the notifier's apprise wrapper)
ChannelCheck = Callable[[str], str]

SCORE_RANGE = (0, 1200)
WITHIN_RANGE = (0, 200)


class Problem(ValueError):
    """One invalid value."""


class Invalid(ValueError):
    """Several problems, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def score(value: Any) -> int:
    return _int_in(value, SCORE_RANGE, "score", "a CRS score")


def within(value: Any) -> int:
    return _int_in(value, WITHIN_RANGE, "within", "a number of points")


def streams(values: Iterable[str], known: Collection[str] = SUBSCRIBABLE) -> tuple[str, ...]:
    """Stream codes chosen from `known` (the built-in ones and those `[streams]` adds)."""
    chosen: list[str] = []
    for value in values:
        for code in str(value).replace(",", " ").split():
            code = code.strip().lower()
            if code == "general":
                raise Problem("stream 'general' needs no subscription: general draws are open to every subscriber")
            if code not in known:
                raise Problem(f"unknown stream {code!r}; valid streams: {' '.join(known)}")
            if code not in chosen:
                chosen.append(code)
    if not chosen:
        raise Problem(f"no stream given; valid streams: {' '.join(known)}")
    return tuple(chosen)


def profile_created(value: str | datetime | None, now: datetime | None = None) -> datetime | None:
    """Any ISO 8601 date or date-time (or a datetime, as a sign-up kept it); without an offset it
    is taken as UTC.  Stored in UTC."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise Problem(
            f"profile_created {text!r} is not an ISO 8601 date or date-time (e.g. 2025-10-01T14:30:00Z)"
        ) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment > (now or datetime.now(UTC)):
        raise Problem(f"profile_created {text!r} is in the future")
    return moment


def channels(values: Iterable[str], check: ChannelCheck) -> tuple[Channel, ...]:
    clean: list[Channel] = []
    for position, value in enumerate(values, 1):
        url = str(value).strip()
        if not url or destination_key(url) in (c.key for c in clean):
            continue  # the same destination twice
        try:
            clean.append(Channel.of(url, check(url)))
        except ValueError as exc:
            raise Problem(f"channel {position} ({redact(url)}) cannot be used: {exc}") from None
    if not clean:
        raise Problem("at least one channel (--notify URL) is needed")
    return tuple(clean)


def language(value: str | None) -> str | None:
    """en or fr (any case); None when not given."""
    if value is None or not value.strip():
        return None
    code = value.strip().lower()
    if code not in LANGUAGES:
        raise Problem(f"unknown language {value!r}; valid languages: {' '.join(LANGUAGES)}")
    return code


def cadence(value: str | None) -> str | None:
    """instant, daily or weekly (any case); None when not given."""
    if value is None or not str(value).strip():
        return None
    code = str(value).strip().lower()
    if code not in CADENCES:
        raise Problem(f"unknown cadence {value!r}; valid cadences: {' '.join(CADENCES)}")
    return code


YES, NO = ("yes", "y", "true", "1", "on"), ("no", "n", "false", "0", "off")


def flag(value: Any, label: str) -> bool | None:
    """A yes/no cell (yes, no, true, false, 1, 0, on, off; any case); None when empty."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if not text:
        return None
    if text in YES or text in NO:
        return text in YES
    raise Problem(f"{label} {str(value).strip()!r} is not yes or no")


def name(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    text = " ".join(value.split())
    if len(text) > 100:
        raise Problem("name is longer than 100 characters")
    return text


def collect(checks: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run every check; all problems at once (one per line) rather than the first only."""
    values, problems = {}, []
    for key, check in checks.items():
        try:
            values[key] = check()
        except Problem as exc:
            problems.append(str(exc))
    if problems:
        raise Invalid(problems)
    return values


def redact(url: str) -> str:
    """Only the scheme of a URL apprise could not read (it may still hold a password)."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://…" if sep and scheme.isalnum() else "not a URL"


def _int_in(value: Any, bounds: tuple[int, int], label: str, what: str) -> int:
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError:
        kind = "not a whole number" if _decimal(text) else "not a number"
        raise Problem(f"{label} {text!r} is {kind}; give {what} from {bounds[0]} to {bounds[1]}") from None
    if not bounds[0] <= number <= bounds[1]:
        raise Problem(f"{label} {number} is out of range; give {what} from {bounds[0]} to {bounds[1]}")
    return number


def _decimal(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
