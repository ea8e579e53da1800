"""A NOC code → the category streams it qualifies for, with this configuration's lists: what
`streams --noc`, `subscribe --noc` and the web form's occupation field all say.

The code itself is not stored (it is personal data, and only the streams it adds are needed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from crswatch.draws.occupations import Match, OccupationsError, match
from crswatch.draws.record import ottawa_today

from .config import Config
from .errors import UsageError


@dataclass(frozen=True)
class Found:
    match: Match
    streams: tuple[str, ...]  # categories a subscriber can choose (built in or the operator's)
    without_stream: tuple[str, ...]  # categories crswatch has no stream for yet


def lookup(config: Config, noc: str, day: date | None = None) -> Found:
    """The categories of `noc` on `day` (Ottawa's today by default); a malformed code is a UsageError."""
    try:
        found = match(noc, day or ottawa_today(), config.occupations, config.streams.labels)
    except OccupationsError as exc:
        raise UsageError(str(exc)) from None
    choosable = set(config.streams.subscribable)
    return Found(
        found, tuple(c for c in found.streams if c in choosable), tuple(c for c in found.streams if c not in choosable)
    )


def rows(config: Config, found: Found) -> list[dict[str, Any]]:
    """One row per category the code is listed in."""
    categories = found.match.version.categories
    return [{"code": code, "label": config.streams.labels.get(code) or f"{categories[code].label} (no stream yet: its draws are in `other`)",
             "list": "confirmed" if categories[code].confirmed else "not confirmed", "subscribable": code in found.streams}
            for code in found.match.streams]  # fmt: skip


def summary(found: Found) -> list[str]:
    """The sentences under the table: which version, what was not confirmed."""
    version = found.match.version
    since = f"IRCC's lists in force since {version.since} ({version.title})"
    count = len(found.match.streams)
    if count:
        lines = [
            f"NOC {found.match.noc} qualifies for {count} {'category' if count == 1 else 'categories'} on {since}."
        ]
    else:
        lines = [
            f"NOC {found.match.noc} is on no category list ({since}); the program, general and French-language draws do not depend on the occupation."
        ]
    if found.match.unconfirmed:
        lines.append(
            f"Not confirmed, and may also hold it: {' '.join(found.match.unconfirmed)} (see the notes in crswatch's draws/categories/{version.since}.toml)."
        )
    return lines


def added_line(found: Found, added: tuple[str, ...]) -> str:
    """What `subscribe --noc` says it did."""
    version = found.match.version
    where = f"IRCC's category lists in force since {version.since}"
    if added:
        text = f"NOC {found.match.noc}: added {' '.join(added)} ({where})"
    elif found.streams:
        text = f"NOC {found.match.noc}: {' '.join(found.streams)} already chosen ({where})"
    elif found.without_stream:
        text = f"NOC {found.match.noc} is only on {' '.join(found.without_stream)} ({where}), which crswatch has no stream for yet: no category added"
    else:
        text = f"NOC {found.match.noc} is on none of {where}: no category added"
    if found.without_stream and found.streams:
        text += f"; also on {' '.join(found.without_stream)}, which crswatch has no stream for yet"
    if found.match.unconfirmed:
        text += f"; not confirmed: {' '.join(found.match.unconfirmed)}"
    return text
