"""The CRS grid versions: dated data files, the shipped ones (`rules/`) and an operator's own folder.

A version applies from its `since` day until the next version's.  Every file is checked whole when
it is read, so a typo in an operator's file is an error that names the file and the key, not a
wrong score."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from .profile import CANADIAN_EDUCATION, EDUCATION

HERE = (
    Path(__file__).parent
)  # the shipped data files, beside the code (not importlib.resources: its zip support costs `crs` 40 ms of imports)


class RulesError(ValueError):
    """No grid applies, or a grid file is not usable."""


CAPS = ("core_with_spouse", "core_without_spouse", "spouse", "transferability", "education_transferability",
        "foreign_transferability", "certificate", "second_language_with_spouse", "second_language_without_spouse",
        "additional", "total")  # fmt: skip
# key path → (what it must be, how many numbers in each row where it is a table of rows)
_SHAPE: dict[str, tuple[str, int]] = {
    "core.age": ("rows", 3), "core.first_language": ("rows", 3), "core.second_language": ("rows", 3),
    "core.canadian_experience": ("rows", 3), "core.education": ("levels", 2),
    "spouse.language": ("rows", 2), "spouse.canadian_experience": ("rows", 2), "spouse.education": ("levels", 1),
    "transferability.education_tier": ("levels", 1), "transferability.edu_language": ("rows", 3),
    "transferability.edu_canadian": ("rows", 3), "transferability.foreign_language": ("rows", 3),
    "transferability.foreign_canadian": ("rows", 3), "transferability.certificate": ("rows", 2),
    "additional.sibling": ("number", 0), "additional.provincial_nomination": ("number", 0),
    "additional.canadian_education": ("canadian_education", 1), "additional.job_offer.major_group_00": ("number", 0),
    "additional.job_offer.teer_0_to_3": ("number", 0), "additional.french.min_nclc": ("number", 0),
    "additional.french.english_min_clb": ("number", 0), "additional.french.without_english": ("number", 0),
    "additional.french.with_english": ("number", 0),
    **{f"caps.{cap}": ("number", 0) for cap in CAPS},
}  # fmt: skip


@dataclass(frozen=True, eq=False)  # one object per file read: hashed by identity (its tables are dicts)
class Grid:
    since: date
    title: str
    origin: str  # "built-in" or the operator's file
    data: dict[str, Any]

    def get(self, path: str) -> Any:
        value: Any = self.data
        for part in path.split("."):
            value = value[part]
        return value

    def cap(self, name: str) -> int:
        return int(self.data["caps"][name])


@dataclass(frozen=True)
class Report:
    """A change to the grid that was reported but could not be confirmed."""

    since: date
    what: str


def _parse(text: str, origin: str) -> Grid:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"CRS rules file {origin} is not valid TOML: {exc}") from None
    since, title = data.get("since"), data.get("title", "")
    if not isinstance(since, date) or isinstance(since, str):
        raise RulesError(f"CRS rules file {origin}: since must be a date (since = 2025-03-25), not {since!r}")
    for path, (kind, width) in _SHAPE.items():
        problem = _check(data, path, kind, width)
        if problem:
            raise RulesError(f"CRS rules file {origin}: {path} {problem}")
    return Grid(since, str(title), origin, data)


def _check(data: dict[str, Any], path: str, kind: str, width: int) -> str | None:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return "is missing"
        value = value[part]
    if kind == "number":
        return None if _number(value) else f"must be a number, not {value!r}"
    if kind == "rows":
        ok = (
            isinstance(value, list)
            and value
            and all(isinstance(r, list) and len(r) == width and all(map(_number, r)) for r in value)
        )
        return None if ok else f"must be a list of rows of {width} numbers"
    names = CANADIAN_EDUCATION if kind == "canadian_education" else EDUCATION
    if not isinstance(value, dict) or set(value) != set(names):
        return f"must give exactly: {', '.join(names)}"
    ok = all(
        (_number(v) if width == 1 else isinstance(v, list) and len(v) == width and all(map(_number, v)))
        for v in value.values()
    )
    return None if ok else f"must give {'a number' if width == 1 else f'{width} numbers'} for each level"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@cache
def builtin() -> tuple[Grid, ...]:
    folder = HERE / "rules"
    return tuple(
        _parse(f.read_text(encoding="utf-8"), "built-in") for f in folder.iterdir() if f.name.endswith(".toml")
    )


def from_folder(folder: str | Path) -> tuple[Grid, ...]:
    """An operator's grid versions: every `*.toml` file in the folder."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise RulesError(f"CRS rules folder {path} does not exist (crs.rules in the configuration)")
    found = []
    for file in sorted(path.glob("*.toml")):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RulesError(f"cannot read CRS rules file {file}: {exc}") from None
        found.append(_parse(text, str(file)))
    return tuple(found)


def versions(extra: Iterable[Grid] = ()) -> list[Grid]:
    """Every version, oldest first; an operator's version replaces a shipped one of the same day."""
    by_day = {g.since: g for g in builtin()}
    by_day.update({g.since: g for g in extra})
    return [by_day[d] for d in sorted(by_day)]


def grid_on(day: date, extra: Iterable[Grid] = ()) -> Grid:
    known = versions(extra)
    usable = [g for g in known if g.since <= day]
    if not usable:
        raise RulesError(f"no CRS rules for {day}: the oldest grid crswatch knows is in force from {known[0].since}")
    return usable[-1]


@cache
def reported() -> tuple[Report, ...]:
    data = tomllib.loads((HERE / "reported.toml").read_text(encoding="utf-8"))
    return tuple(Report(r["since"], r["what"]) for r in data.get("reported", []))
