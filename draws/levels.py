"""IRCC's Immigration Levels Plans as dated data (`levels.toml`): the admissions targeted for a year
by program group.  An admissions target is not an invitation count; every answer says so."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

#: The plan's program groups, and how crswatch's streams fall into them.
GROUPS = {"federal_high_skilled": "Federal High Skilled", "pnp": "Provincial Nominee Program"}
NOT_INVITATIONS = ("an admissions target counts people admitted as permanent residents (families included), "
                   "not invitations; admissions follow invitations by months")  # fmt: skip


def group_of(stream: str) -> str | None:
    """The plan group a stream's invitations count towards (None for draws crswatch cannot place)."""
    if stream == "other":
        return None
    return "pnp" if stream == "pnp" else "federal_high_skilled"


@dataclass(frozen=True)
class Target:
    plan: str
    published: date
    year: int
    group: str
    admissions: int
    confirmed: bool


@cache
def targets() -> tuple[Target, ...]:
    data = tomllib.loads(resources.files(__package__).joinpath("levels.toml").read_text(encoding="utf-8"))
    return tuple(Target(t["plan"], t["published"], int(t["year"]), t["group"], int(t["admissions"]), bool(t.get("confirmed", True)))
                 for t in data["target"])  # fmt: skip


def targets_for(year: int, day: date) -> dict[str, Target]:
    """group → the target for `year` of the newest plan published on or before `day`."""
    found: dict[str, Target] = {}
    for target in sorted(targets(), key=lambda t: t.published):
        if target.year == year and target.published <= day:
            found[target.group] = target
    return found
