"""A profile's CRS score on a day, with IRCC's breakdown: pure arithmetic over one grid version.

Everything that depends on the day is computed here from the profile (with the calendar of
`days.py`): the age in completed years, which language results still count (two years from the
test date), the completed years of work in the last ten years, whether the Express Entry profile
has expired.  Where the grid's meaning is uncertain, the result says so in `notes` instead of
guessing silently."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .days import LANGUAGE_YEARS, add_years, age_on, experience_years
from .language import ABILITIES, levels
from .profile import Language, Period, Profile, ProfileError
from .rules import Grid, grid_on, reported, versions

SECTIONS = {
    "A": ("age", "education", "first_language", "second_language", "canadian_experience"),
    "B": ("spouse_education", "spouse_language", "spouse_canadian_experience"),
    "C": ("edu_language", "edu_canadian", "education_transferability", "foreign_language", "foreign_canadian",
          "foreign_transferability", "certificate"),
    "D": ("provincial_nomination", "job_offer", "canadian_education", "french", "sibling"),
}  # fmt: skip
FACTORS = tuple(name for names in SECTIONS.values() for name in names)
PROFILE_MONTHS = 12  # an Express Entry profile stays in the pool for a year
NOC_2021 = date(2022, 11, 16)  # job offers were classed by NOC 2016 (0, A, B) before this day


@dataclass(frozen=True)
class Result:
    on: date
    grid: Grid
    total: int
    sections: dict[str, int]
    factors: dict[str, int]
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        rules = {
            "since": self.grid.since.isoformat(),
            "title": self.grid.title,
            "origin": self.grid.origin,
            "on": self.on.isoformat(),
        }
        return {
            "total": self.total,
            "sections": self.sections,
            "factors": self.factors,
            "rules": rules,
            "notes": self.notes,
        }


def score(profile: Profile, on: date, extra: Iterable[Any] = (), grid: Grid | None = None) -> Result:
    """The CRS score of `profile` on the day `on`, by the grid in force that day."""
    if on < profile.date_of_birth:
        raise ProfileError([f"date_of_birth {profile.date_of_birth} is after the day scored ({on})"])
    grid = grid or grid_on(on, extra)
    notes: list[str] = []
    spouse = profile.spouse if profile.spouse and profile.spouse.counts else None
    if profile.spouse and not spouse:
        why = (
            "is a Canadian citizen or permanent resident"
            if profile.spouse.canadian_citizen_or_pr
            else "is not accompanying"
        )
        notes.append(f"the spouse {why}: scored as no spouse")
    first = _levels(profile.first_language, on, "first_language", notes)
    second = _levels(profile.second_language, on, "second_language", notes)
    canadian = _years(profile.canadian_experience_years, profile.canadian_experience, on)
    foreign = _years(profile.foreign_experience_years, profile.foreign_experience, on)
    factors: dict[str, int] = {}
    factors.update(_core(grid, profile, on, spouse is not None, first, second, canadian, notes))
    factors.update(_spouse(grid, spouse, on, notes))
    factors.update(_transferability(grid, profile, first, canadian, foreign))
    factors.update(_additional(grid, profile, on, first, second, notes))
    sections = _sections(grid, factors, spouse is not None)
    _dated_notes(grid, profile, on, notes)
    total = min(sum(sections.values()), grid.cap("total"))
    return Result(on, grid, total, sections, {name: factors[name] for name in FACTORS}, notes)


# ------------------------------------------------------------------------------------ sections


def _core(grid: Grid, profile: Profile, on: date, with_spouse: bool, first: tuple[int, ...] | None,
          second: tuple[int, ...] | None, canadian: int, notes: list[str]) -> dict[str, int]:  # fmt: skip
    column = 1 if with_spouse else 2
    second_cap = grid.cap("second_language_with_spouse" if with_spouse else "second_language_without_spouse")
    return {
        "age": _row(grid.get("core.age"), age_on(profile.date_of_birth, on), column),
        "education": int(grid.get("core.education")[profile.education][column - 1]),
        "first_language": sum(_row(grid.get("core.first_language"), level, column) for level in first or ()),
        "second_language": min(
            sum(_row(grid.get("core.second_language"), level, column) for level in second or ()), second_cap
        ),
        "canadian_experience": _row(grid.get("core.canadian_experience"), canadian, column),
    }


def _spouse(grid: Grid, spouse: Any, on: date, notes: list[str]) -> dict[str, int]:
    if spouse is None:
        return {"spouse_education": 0, "spouse_language": 0, "spouse_canadian_experience": 0}
    levels = _levels(spouse.language, on, "spouse.language", notes)
    return {
        "spouse_education": int(grid.get("spouse.education")[spouse.education]),
        "spouse_language": sum(_row(grid.get("spouse.language"), level, 1) for level in levels or ()),
        "spouse_canadian_experience": _row(grid.get("spouse.canadian_experience"), spouse.canadian_experience_years, 1),
    }


def _transferability(
    grid: Grid, profile: Profile, first: tuple[int, ...] | None, canadian: int, foreign: int
) -> dict[str, int]:
    tier = int(grid.get("transferability.education_tier")[profile.education])
    lowest = min(first) if first else 0  # these combinations ask for a level on all four abilities
    factors = {
        "edu_language": _best(grid.get("transferability.edu_language"), tier, lowest),
        "edu_canadian": _best(grid.get("transferability.edu_canadian"), tier, canadian),
        "foreign_language": _best(grid.get("transferability.foreign_language"), foreign, lowest),
        "foreign_canadian": _best(grid.get("transferability.foreign_canadian"), foreign, canadian),
    }
    factors["education_transferability"] = min(
        factors["edu_language"] + factors["edu_canadian"], grid.cap("education_transferability")
    )
    factors["foreign_transferability"] = min(
        factors["foreign_language"] + factors["foreign_canadian"], grid.cap("foreign_transferability")
    )
    certificate = (
        _row([[0, 0], *grid.get("transferability.certificate")], lowest, 1)
        if profile.certificate_of_qualification
        else 0
    )
    factors["certificate"] = min(certificate, grid.cap("certificate"))
    return factors


def _additional(grid: Grid, profile: Profile, on: date, first: tuple[int, ...] | None, second: tuple[int, ...] | None,
                notes: list[str]) -> dict[str, int]:  # fmt: skip
    job = 0
    if profile.job_offer:
        offer = grid.get("additional.job_offer")
        job = int(
            offer["major_group_00"]
            if profile.job_offer.major_group_00
            else offer["teer_0_to_3"]
            if profile.job_offer.teer <= 3
            else 0
        )
        if not offer["major_group_00"] and not offer["teer_0_to_3"]:
            notes.append(f"no points for a job offer under the grid in force since {grid.since}")
        elif on < NOC_2021:
            notes.append(
                f"job offers were classed by NOC 2016 (0, A, B) before {NOC_2021}: TEER {profile.job_offer.teer} is read as its NOC 2016 equivalent"
            )
    return {
        "provincial_nomination": int(grid.get("additional.provincial_nomination"))
        if profile.provincial_nomination
        else 0,
        "job_offer": job,
        "canadian_education": int(grid.get("additional.canadian_education")[profile.canadian_education]),
        "french": _french(grid, profile, first, second),
        "sibling": int(grid.get("additional.sibling")) if profile.sibling_in_canada else 0,
    }


def _french(grid: Grid, profile: Profile, first: tuple[int, ...] | None, second: tuple[int, ...] | None) -> int:
    tests = [(profile.first_language, first), (profile.second_language, second)]
    french = next((levels for test, levels in tests if test and test.french and levels), None)
    english = next((levels for test, levels in tests if test and not test.french and levels), None)
    rule = grid.get("additional.french")
    if not french or min(french) < rule["min_nclc"]:
        return 0
    return int(rule["with_english"] if english and min(english) >= rule["english_min_clb"] else rule["without_english"])


def _sections(grid: Grid, factors: dict[str, int], with_spouse: bool) -> dict[str, int]:
    core = sum(factors[name] for name in SECTIONS["A"])
    transfer = factors["education_transferability"] + factors["foreign_transferability"] + factors["certificate"]
    return {
        "A": min(core, grid.cap("core_with_spouse" if with_spouse else "core_without_spouse")),
        "B": min(sum(factors[name] for name in SECTIONS["B"]), grid.cap("spouse")),
        "C": min(transfer, grid.cap("transferability")),
        "D": min(sum(factors[name] for name in SECTIONS["D"]), grid.cap("additional")),
    }


def _dated_notes(grid: Grid, profile: Profile, on: date, notes: list[str]) -> None:
    if profile.date_of_birth.month == 2 and profile.date_of_birth.day == 29:
        notes.append("born on 29 February: crswatch counts the birthday on 1 March in common years")
    if profile.profile_created:
        created = profile.profile_created.date()
        expires = add_years(created, 1)
        if expires <= on:
            notes.append(
                f"the Express Entry profile submitted on {created} expired on {expires} (a profile stays in the pool for {PROFILE_MONTHS} months)"
            )
    for report in reported():
        if report.since <= on and grid.since < report.since:
            notes.append(f"{report.what}: scored with the grid in force since {grid.since}")


# --------------------------------------------------------------------------------- the day's facts


def _levels(test: Language | None, on: date, name: str, notes: list[str]) -> tuple[int, ...] | None:
    """The test's levels if its results count on the day (taken, and less than two years old)."""
    if test is None:
        return None
    if test.test_date is not None:
        if test.test_date > on:
            notes.append(f"{name} ({test.test}) was taken on {test.test_date}, after the day scored: not counted")
            return None
        ends = add_years(test.test_date, LANGUAGE_YEARS)
        if ends <= on:
            notes.append(
                f"{name} ({test.test}, taken {test.test_date}) stopped counting on {ends} (results count for two years): scored as no test"
            )
            return None
        if test.test == "tef" and test.test_date == date(2019, 9, 30):
            notes.append(
                "IRCC's TEF Canada charts name no chart for a test taken on 2019-09-30: read by the chart for tests before it"
            )
    return levels(test.test, test.test_date, dict(zip(ABILITIES, test.scores, strict=True)))


def _years(typed: int | None, periods: tuple[Period, ...], on: date) -> int:
    """Completed years of work: as typed, or from the periods (only the ten years before the day)."""
    if typed is not None:
        return typed
    return experience_years(periods, on)


def ceiling(profile: Profile, start: date, end: date, extra: Iterable[Any] = ()) -> int:
    """The most the profile can score on any day from `start` to `end`, by the grids known now:
    a bound for matching that needs no scoring of profiles far below a cut-off.  Work experience
    is taken at its most (every period counted up to `end`, the ten-year window ignored: more
    experience never lowers a score); everything else only changes on a birthday, a test date or
    a test's expiry, or a new grid, so the days of those events (and `start`) are enough."""
    from dataclasses import replace

    extra = tuple(extra)
    most = replace(profile, canadian_experience_years=_most(profile.canadian_experience_years, profile.canadian_experience, end),
                   foreign_experience_years=_most(profile.foreign_experience_years, profile.foreign_experience, end),
                   canadian_experience=(), foreign_experience=())  # fmt: skip
    oldest = versions(extra)[0].since
    low = max(start, oldest, profile.date_of_birth)
    days = {low} | {g.since for g in versions(extra)}
    days |= {add_years(profile.date_of_birth, n) for n in range(0, 120)}
    tests = [
        t
        for t in (profile.first_language, profile.second_language, profile.spouse.language if profile.spouse else None)
        if t and t.test_date
    ]
    days |= {t.test_date for t in tests if t.test_date} | {
        add_years(t.test_date, LANGUAGE_YEARS) for t in tests if t.test_date
    }
    return max(score(most, day, extra).total for day in sorted(days) if low <= day <= end)


def _most(typed: int | None, periods: tuple[Period, ...], end: date) -> int | None:
    if typed is not None:
        return typed
    return experience_years(periods, end, window=False) if periods else None


# ----------------------------------------------------------------------------------- table look-ups


def _row(rows: list[list[float]], value: float, column: int) -> int:
    """The row that applies to `value`: the last one whose first number is at most `value`."""
    found = 0
    for row in rows:
        if value >= row[0]:
            found = int(row[column])
    return found


def _best(rows: list[list[float]], first: float, second: float) -> int:
    """The most points of the rows whose two minimums are both met."""
    return max((int(r[2]) for r in rows if first >= r[0] and second >= r[1]), default=0)
