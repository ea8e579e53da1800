"""Reading a candidate's profile: the TOML or JSON a candidate writes → a typed `Profile`.

Every key is optional except `date_of_birth`; an unknown key or value is an error that names it
(all problems are reported at once, in one `ProfileError`).  The record itself, and how it is
written back as data, is `profile.py`; this module holds only the validation of what comes in."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

from .language import ABILITIES, LEVEL_TESTS, TESTS, check_score
from .profile import CANADIAN_EDUCATION, EDUCATION, JobOffer, Language, Period, Profile, ProfileError, Spouse

KEYS = ("date_of_birth", "education", "first_language", "second_language", "canadian_experience_years",
        "foreign_experience_years", "canadian_experience", "foreign_experience", "certificate_of_qualification",
        "canadian_education", "sibling_in_canada", "provincial_nomination", "job_offer", "spouse", "profile_created")  # fmt: skip
LANGUAGE_KEYS = ("test", "test_date", *ABILITIES)
SPOUSE_KEYS = ("accompanying", "canadian_citizen_or_pr", "education", "language", "canadian_experience_years")
JOB_KEYS = ("teer", "major_group_00")


def read(text: str, name: str = "profile") -> Profile:
    """A profile from TOML or JSON text (JSON when it starts with `{`)."""
    stripped = text.lstrip("\ufeff \t\r\n")
    try:
        data = json.loads(stripped) if stripped.startswith("{") else tomllib.loads(stripped)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if stripped.startswith("{") else "TOML"
        raise ProfileError([f"{name} is not valid {kind}: {exc}"]) from None
    if not isinstance(data, dict):
        raise ProfileError([f"{name} must be a table of keys (a JSON object)"])
    return parse(data)


def parse(data: Mapping[str, Any]) -> Profile:
    problems: list[str] = []
    p = _Reader(problems)
    for key in data:
        if key not in KEYS:
            problems.append(f"unknown profile key {key!r} (known: {', '.join(KEYS)})")
    born = p.day(data, "date_of_birth", required=True)
    values: dict[str, Any] = {
        "education": p.choice(data, "education", EDUCATION, "less_than_secondary"),
        "first_language": p.language(data.get("first_language"), "first_language"),
        "second_language": p.language(data.get("second_language"), "second_language"),
        "certificate_of_qualification": p.flag(data, "certificate_of_qualification"),
        "canadian_education": p.choice(data, "canadian_education", CANADIAN_EDUCATION, "none"),
        "sibling_in_canada": p.flag(data, "sibling_in_canada"),
        "provincial_nomination": p.flag(data, "provincial_nomination"),
        "job_offer": p.job_offer(data.get("job_offer")),
        "spouse": p.spouse(data.get("spouse")),
        "profile_created": p.moment(data, "profile_created"),
    }
    for where in ("canadian", "foreign"):
        years_key, periods_key = f"{where}_experience_years", f"{where}_experience"
        if years_key in data and periods_key in data:
            problems.append(f"give {years_key} or {periods_key}, not both")
        values[years_key] = p.years(data, years_key)
        values[periods_key] = p.periods(data.get(periods_key), periods_key)
    first, second = values["first_language"], values["second_language"]
    if first and second and first.french == second.french:
        problems.append("first_language and second_language must be one English and one French test")
    if second and not first:
        problems.append("second_language needs a first_language")
    if problems:
        raise ProfileError(problems)
    assert born is not None
    return Profile(date_of_birth=born, **values)


class _Reader:
    """Reads typed values and collects a problem for each one that is wrong."""

    def __init__(self, problems: list[str]):
        self.problems = problems

    def fail(self, message: str) -> None:
        self.problems.append(message)

    def day(self, data: Mapping[str, Any], key: str, where: str = "", required: bool = False) -> date | None:
        name = f"{where}{key}"
        if key not in data:
            if required:
                self.fail(f"{name} is required (YYYY-MM-DD)")
            return None
        value = data[key]
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(f"{name} {value!r} is not a date (use YYYY-MM-DD)")
        return None

    def moment(self, data: Mapping[str, Any], key: str) -> datetime | None:
        if key not in data:
            return None
        value = data[key]
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)  # a time without a zone is UTC
        self.fail(f"{key} {value!r} is not a date and time (use ISO 8601, e.g. 2025-06-10T15:59:25Z)")
        return None

    def choice(self, data: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str, where: str = "") -> str:
        value = data.get(key, default)
        if value not in allowed:
            self.fail(f"unknown {where}{key} {value!r} (one of: {', '.join(allowed)})")
            return default
        return str(value)

    def flag(self, data: Mapping[str, Any], key: str, default: bool = False, where: str = "") -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.fail(f"{where}{key} must be true or false, not {value!r}")
            return default
        return value

    def years(self, data: Mapping[str, Any], key: str, where: str = "") -> int | None:
        if key not in data:
            return None
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 60:
            self.fail(f"{where}{key} must be a whole number of completed years (0-60), not {value!r}")
            return None
        return value

    def table(self, value: Any, name: str, keys: tuple[str, ...]) -> Mapping[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(f"{name} must be a table ({{{', '.join(keys)}}})")
            return None
        for key in value:
            if key not in keys:
                self.fail(f"unknown key {name}.{key} (known: {', '.join(keys)})")
        return value

    def language(self, value: Any, name: str) -> Language | None:
        if value is None:
            return None
        data = self.table(value, name, LANGUAGE_KEYS)
        if data is None:
            return None
        test = data.get("test")
        if test not in TESTS:
            self.fail(f"unknown {name}.test {test!r} (one of: {', '.join(TESTS)})")
            return None
        taken = self.day(data, "test_date", f"{name}.", required=test not in LEVEL_TESTS)
        scores = []
        for ability in ABILITIES:
            score = data.get(ability)
            if isinstance(score, bool) or not isinstance(score, int | float):
                self.fail(f"{name}.{ability} is required: a {test} {'level' if test in LEVEL_TESTS else 'score'}" +
                          ("" if score is None else f", not {score!r}"))  # fmt: skip
                continue
            why = check_score(str(test), taken, ability, float(score))
            if why:
                self.fail(f"{name}.{ability} {score!r} {why}")
            scores.append(float(score))
        if len(scores) != len(ABILITIES):
            return None
        return Language(str(test), taken, tuple(scores))

    def periods(self, value: Any, name: str) -> tuple[Period, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(f"{name} must be a list of {{from, to}} periods")
            return ()
        found = []
        for i, item in enumerate(value, 1):
            data = self.table(item, f"{name}[{i}]", ("from", "to"))
            if data is None:
                continue
            start = self.day(data, "from", f"{name}[{i}].", required=True)
            end = self.day(data, "to", f"{name}[{i}].")
            if start and end and end < start:
                self.fail(f"{name}[{i}] ends ({end}) before it starts ({start})")
            elif start:
                found.append(Period(start, end))
        return tuple(found)

    def job_offer(self, value: Any) -> JobOffer | None:
        if value is None:
            return None
        data = self.table(value, "job_offer", JOB_KEYS)
        if data is None:
            return None
        teer = data.get("teer")
        if isinstance(teer, bool) or not isinstance(teer, int) or not 0 <= teer <= 5:
            self.fail(f"job_offer.teer must be the offer's NOC 2021 TEER category, 0 to 5, not {teer!r}")
            return None
        group_00 = self.flag(data, "major_group_00", where="job_offer.")
        if group_00 and teer != 0:
            self.fail(f"job_offer.major_group_00 is a TEER 0 group, but teer is {teer}")
        return JobOffer(teer, group_00)

    def spouse(self, value: Any) -> Spouse | None:
        if value is None:
            return None
        data = self.table(value, "spouse", SPOUSE_KEYS)
        if data is None:
            return None
        language = self.language(data.get("language"), "spouse.language")
        return Spouse(
            accompanying=self.flag(data, "accompanying", True, "spouse."),
            canadian_citizen_or_pr=self.flag(data, "canadian_citizen_or_pr", False, "spouse."),
            education=self.choice(data, "education", EDUCATION, "less_than_secondary", "spouse."),
            language=language,
            canadian_experience_years=self.years(data, "canadian_experience_years", "spouse.") or 0,
        )
