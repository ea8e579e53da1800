"""The candidate's profile: the typed record scoring reads, and the plain data it is kept as.

A profile comes in through `reader.py` (TOML or JSON, every value validated); what the SQL store
keeps is `dumps`, which `reader.parse` reads back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .language import ABILITIES

EDUCATION = ("less_than_secondary", "secondary", "one_year", "two_year", "bachelors_or_three_year", "two_or_more",
             "masters_or_professional", "doctoral")  # fmt: skip
CANADIAN_EDUCATION = ("none", "secondary", "one_or_two_year", "three_year_or_more")


class ProfileError(ValueError):
    """The profile cannot be scored; `problems` names each wrong key or value."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Language:
    test: str
    test_date: date | None  # None only for levels given directly (clb, nclc)
    scores: tuple[float, ...]  # reading, writing, listening, speaking

    @property
    def french(self) -> bool:
        return self.test in ("tef", "tcf", "nclc")


@dataclass(frozen=True)
class Period:
    start: date
    end: date | None = None  # the last day worked; None = ongoing


@dataclass(frozen=True)
class JobOffer:
    teer: int
    major_group_00: bool = False


@dataclass(frozen=True)
class Spouse:
    accompanying: bool = True
    canadian_citizen_or_pr: bool = False
    education: str = "less_than_secondary"
    language: Language | None = None
    canadian_experience_years: int = 0

    @property
    def counts(self) -> bool:
        """A spouse who stays behind, or is a citizen or permanent resident, is scored as no spouse."""
        return self.accompanying and not self.canadian_citizen_or_pr


@dataclass(frozen=True)
class Profile:
    date_of_birth: date
    education: str = "less_than_secondary"
    first_language: Language | None = None
    second_language: Language | None = None
    canadian_experience_years: int | None = None  # completed years as typed, or
    canadian_experience: tuple[Period, ...] = ()  # periods, so the years grow with the date
    foreign_experience_years: int | None = None
    foreign_experience: tuple[Period, ...] = ()
    certificate_of_qualification: bool = False
    canadian_education: str = "none"
    sibling_in_canada: bool = False
    provincial_nomination: bool = False
    job_offer: JobOffer | None = None
    spouse: Spouse | None = None
    profile_created: datetime | None = None


def to_data(profile: Profile) -> dict[str, Any]:
    """The profile as plain JSON-safe data that `parse` reads back: only what scoring needs (the
    submission time is the subscriber's own field, kept beside it, not in here)."""
    data: dict[str, Any] = {"date_of_birth": profile.date_of_birth.isoformat()}
    if profile.education != "less_than_secondary":
        data["education"] = profile.education
    for key in ("first_language", "second_language"):
        test: Language | None = getattr(profile, key)
        if test:
            data[key] = _language_data(test)
    for where in ("canadian", "foreign"):
        years, periods = getattr(profile, f"{where}_experience_years"), getattr(profile, f"{where}_experience")
        if years is not None:
            data[f"{where}_experience_years"] = years
        if periods:
            data[f"{where}_experience"] = [
                {"from": p.start.isoformat(), **({"to": p.end.isoformat()} if p.end else {})} for p in periods
            ]
    for key in ("certificate_of_qualification", "sibling_in_canada", "provincial_nomination"):
        if getattr(profile, key):
            data[key] = True
    if profile.canadian_education != "none":
        data["canadian_education"] = profile.canadian_education
    if profile.job_offer:
        data["job_offer"] = {"teer": profile.job_offer.teer, "major_group_00": profile.job_offer.major_group_00}
    if profile.spouse:
        s = profile.spouse
        data["spouse"] = {"accompanying": s.accompanying, "canadian_citizen_or_pr": s.canadian_citizen_or_pr, "education": s.education,
                          "canadian_experience_years": s.canadian_experience_years,
                          **({"language": _language_data(s.language)} if s.language else {})}  # fmt: skip
    return data


def _language_data(test: Language) -> dict[str, Any]:
    scores = {a: (int(v) if v == int(v) else v) for a, v in zip(ABILITIES, test.scores, strict=True)}
    return {"test": test.test, **({"test_date": test.test_date.isoformat()} if test.test_date else {}), **scores}


def dumps(profile: Profile) -> str:
    """`to_data` as compact JSON text: what the SQL store keeps."""
    return json.dumps(to_data(profile), separators=(",", ":"), sort_keys=True)
