"""The CRS calculator: every cell of every grid version and of every equivalency chart, checked
against tables typed again here from IRCC's pages (not read from the data files), hand-computed
totals, the boundaries that matter (birthdays, expiries, the grid's changes) and properties."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from crswatch.draws.crs import Profile, ProfileError, RulesError, grid_on, parse, score, versions
from crswatch.draws.crs.days import age_on, experience_years
from crswatch.draws.crs.language import charts, levels
from crswatch.draws.crs.profile import EDUCATION, JobOffer, Language, Period, Spouse
from crswatch.draws.crs.rules import from_folder

VERSIONS = ("2016-11-19", "2017-06-06", "2020-10-27", "2025-03-25")
ON = {v: date.fromisoformat(v) + timedelta(days=30) for v in VERSIONS}  # a day inside each version

# ---------------------------------------------------------------- IRCC's grid, typed again by hand
# (criteria page and Ministerial Instructions; the same in every version since 2016-11-19)
AGE = {
    17: (0, 0),
    18: (90, 99),
    19: (95, 105),
    **{a: (100, 110) for a in range(20, 30)},
    30: (95, 105),
    31: (90, 99),
    32: (85, 94),
    33: (80, 88),
    34: (75, 83),
    35: (70, 77),
    36: (65, 72),
    37: (60, 66),
    38: (55, 61),
    39: (50, 55),
    40: (45, 50),
    41: (35, 39),
    42: (25, 28),
    43: (15, 17),
    44: (5, 6),
    45: (0, 0),
    60: (0, 0),
}  # (with, without spouse)
EDUCATION_POINTS = {
    "less_than_secondary": (0, 0),
    "secondary": (28, 30),
    "one_year": (84, 90),
    "two_year": (91, 98),
    "bachelors_or_three_year": (112, 120),
    "two_or_more": (119, 128),
    "masters_or_professional": (126, 135),
    "doctoral": (140, 150),
}
FIRST = {
    0: (0, 0),
    3: (0, 0),
    4: (6, 6),
    5: (6, 6),
    6: (8, 9),
    7: (16, 17),
    8: (22, 23),
    9: (29, 31),
    10: (32, 34),
    12: (32, 34),
}
SECOND = {3: 0, 4: 0, 5: 1, 6: 1, 7: 3, 8: 3, 9: 6, 10: 6, 12: 6}  # per ability, both columns
CANADIAN = {0: (0, 0), 1: (35, 40), 2: (46, 53), 3: (56, 64), 4: (63, 72), 5: (70, 80), 9: (70, 80)}
SPOUSE_EDUCATION = {
    "less_than_secondary": 0,
    "secondary": 2,
    "one_year": 6,
    "two_year": 7,
    "bachelors_or_three_year": 8,
    "two_or_more": 9,
    "masters_or_professional": 10,
    "doctoral": 10,
}
SPOUSE_LANGUAGE = {3: 0, 4: 0, 5: 1, 6: 1, 7: 3, 8: 3, 9: 5, 10: 5}
SPOUSE_CANADIAN = {0: 0, 1: 5, 2: 7, 3: 8, 4: 9, 5: 10, 7: 10}
FRENCH = {
    "2016-11-19": (0, 0),
    "2017-06-06": (15, 30),
    "2020-10-27": (25, 50),
    "2025-03-25": (25, 50),
}  # (without, with English)
SIBLING = {"2016-11-19": 0, "2017-06-06": 15, "2020-10-27": 15, "2025-03-25": 15}
JOB = {
    "2016-11-19": (200, 50),
    "2017-06-06": (200, 50),
    "2020-10-27": (200, 50),
    "2025-03-25": (0, 0),
}  # (00, TEER 0-3)

# ------------------------------------------------------ IRCC's equivalency charts, typed again by hand
# [level, reading, writing, listening, speaking]: the lowest score of each level
IELTS = [
    [10, 8.0, 7.5, 8.5, 7.5],
    [9, 7.0, 7.0, 8.0, 7.0],
    [8, 6.5, 6.5, 7.5, 6.5],
    [7, 6.0, 6.0, 6.0, 6.0],
    [6, 5.0, 5.5, 5.5, 5.5],
    [5, 4.0, 5.0, 5.0, 5.0],
    [4, 3.5, 4.0, 4.5, 4.0],
]
CELPIP = [[level] * 1 + [level] * 4 for level in range(10, 3, -1)]
PTE = [
    [10, 88, 90, 89, 89],
    [9, 78, 88, 82, 84],
    [8, 69, 79, 71, 76],
    [7, 60, 69, 60, 68],
    [6, 51, 60, 50, 59],
    [5, 42, 51, 39, 51],
    [4, 33, 41, 28, 42],
    [3, 24, 32, 18, 34],
]
TEF_BEFORE_2019 = [
    [10, 263, 393, 316, 393],
    [9, 248, 371, 298, 371],
    [8, 233, 349, 280, 349],
    [7, 207, 310, 249, 310],
    [6, 181, 271, 217, 271],
    [5, 151, 226, 181, 226],
    [4, 121, 181, 145, 181],
]
TEF_2019_2023 = [
    [lvl, s, s, s, s] for lvl, s in ((10, 566), (9, 533), (8, 500), (7, 450), (6, 400), (5, 350), (4, 300))
]
TEF_SINCE_2023 = [
    [10, 546, 558, 546, 556],
    [9, 503, 512, 503, 518],
    [8, 462, 472, 462, 494],
    [7, 434, 428, 434, 456],
    [6, 393, 379, 393, 422],
    [5, 352, 330, 352, 387],
    [4, 306, 268, 306, 328],
]
TCF = [
    [10, 549, 16, 549, 16],
    [9, 524, 14, 523, 14],
    [8, 499, 12, 503, 12],
    [7, 453, 10, 458, 10],
    [6, 406, 7, 398, 7],
    [5, 375, 6, 369, 6],
    [4, 342, 4, 331, 4],
]
CHARTS = {  # test → [(first test day of the chart, its rows)]
    "ielts": [(date(2016, 1, 1), IELTS)],
    "celpip": [(date(2016, 1, 1), CELPIP)],
    "pte_core": [(date(2024, 1, 30), PTE)],
    "tef": [
        (date(2019, 9, 29), TEF_BEFORE_2019),
        (date(2019, 10, 1), TEF_2019_2023),
        (date(2023, 12, 11), TEF_SINCE_2023),
    ],
    "tcf": [(date(2016, 1, 1), TCF)],
}
STEP = {"ielts": 0.5}


def clb(level: int, taken: date | None = None, test: str = "clb") -> dict[str, Any]:
    return {
        "test": test,
        **({"test_date": taken} if taken else {}),
        "reading": level,
        "writing": level,
        "listening": level,
        "speaking": level,
    }


def born_aged(age: int, on: date) -> date:
    """A date of birth that makes someone `age` on `on` (their birthday a month before)."""
    return date(on.year - age, on.month, 1) - timedelta(days=31) if on.month > 2 else date(on.year - age - 1, 12, 1)


def points(profile: dict[str, Any], on: date) -> dict[str, int]:
    return score(parse(profile), on).factors


SPOUSE = {"education": "less_than_secondary"}  # an accompanying spouse who brings no points of their own


# ------------------------------------------------------------------------------- every grid cell


def test_every_version_is_shipped_and_dated_by_its_file_name() -> None:
    shipped = sorted((ROOT / "draws" / "crs" / "rules").glob("*.toml"))
    assert [p.stem for p in shipped] == list(VERSIONS)
    for path in shipped:
        assert str(tomllib.loads(path.read_text())["since"]) == path.stem
    assert [str(g.since) for g in versions()] == list(VERSIONS)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("with_spouse", [True, False])
def test_age_cells(version: str, with_spouse: bool) -> None:
    on = ON[version]
    for age, cell in AGE.items():
        profile = {"date_of_birth": born_aged(age, on), **({"spouse": SPOUSE} if with_spouse else {})}
        assert points(profile, on)["age"] == cell[0 if with_spouse else 1], age


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("with_spouse", [True, False])
def test_education_and_canadian_experience_cells(version: str, with_spouse: bool) -> None:
    on, column = ON[version], 0 if with_spouse else 1
    base = {"date_of_birth": date(1980, 1, 1), **({"spouse": SPOUSE} if with_spouse else {})}
    for level, cell in EDUCATION_POINTS.items():
        assert points({**base, "education": level}, on)["education"] == cell[column], level
    for years, cell in CANADIAN.items():
        assert points({**base, "canadian_experience_years": years}, on)["canadian_experience"] == cell[column], years


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("with_spouse", [True, False])
def test_language_cells(version: str, with_spouse: bool) -> None:
    on, column = ON[version], 0 if with_spouse else 1
    base = {"date_of_birth": date(1980, 1, 1), **({"spouse": SPOUSE} if with_spouse else {})}
    for level, cell in FIRST.items():
        assert points({**base, "first_language": clb(level)}, on)["first_language"] == 4 * cell[column], level
    for level, cell in SECOND.items():
        got = points({**base, "first_language": clb(7), "second_language": clb(level, test="nclc")}, on)[
            "second_language"
        ]
        assert got == min(4 * cell, 22 if with_spouse else 24), level  # the second language's own cap
    # one ability at a time: the cells are per ability
    mixed = {"test": "clb", "reading": 10, "writing": 9, "listening": 7, "speaking": 4}
    assert points({**base, "first_language": mixed}, on)["first_language"] == sum(
        FIRST[n][column] for n in (10, 9, 7, 4)
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_spouse_cells(version: str) -> None:
    on = ON[version]
    base = {"date_of_birth": date(1980, 1, 1)}
    for level, cell in SPOUSE_EDUCATION.items():
        assert points({**base, "spouse": {"education": level}}, on)["spouse_education"] == cell, level
    for level, cell in SPOUSE_LANGUAGE.items():
        assert points({**base, "spouse": {"language": clb(level)}}, on)["spouse_language"] == 4 * cell, level
    for years, cell in SPOUSE_CANADIAN.items():
        assert (
            points({**base, "spouse": {"canadian_experience_years": years}}, on)["spouse_canadian_experience"] == cell
        ), years


# Skill transferability, as IRCC's criteria page words it: 13/25 for one credential (or 1-2 years
# abroad) with CLB 7+ (one ability under 9) / CLB 9+ on all four; 25/50 for two or more credentials,
# a master's or a doctorate (or 3+ years abroad).  Canadian experience: 1 year / 2 years or more.
TIER = {
    "less_than_secondary": 0,
    "secondary": 0,
    "one_year": 1,
    "two_year": 1,
    "bachelors_or_three_year": 1,
    "two_or_more": 2,
    "masters_or_professional": 2,
    "doctoral": 2,
}
COMBO = {(0, 0): 0, (0, 1): 0, (0, 2): 0, (1, 0): 0, (1, 1): 13, (1, 2): 25, (2, 0): 0, (2, 1): 25, (2, 2): 50}
LANGUAGE_BAND = {4: 0, 6: 0, 7: 1, 8: 1, 9: 2, 10: 2}
CANADIAN_BAND = {0: 0, 1: 1, 2: 2, 3: 2, 6: 2}
FOREIGN_BAND = {0: 0, 1: 1, 2: 1, 3: 2, 5: 2}


@pytest.mark.parametrize("version", VERSIONS)
def test_transferability_cells(version: str) -> None:
    on = ON[version]
    for education in EDUCATION:
        for level, band in LANGUAGE_BAND.items():
            got = points({"date_of_birth": date(1980, 1, 1), "education": education, "first_language": clb(level)}, on)
            assert got["edu_language"] == COMBO[TIER[education], band], (education, level)
        for years, band in CANADIAN_BAND.items():
            got = points(
                {"date_of_birth": date(1980, 1, 1), "education": education, "canadian_experience_years": years}, on
            )
            assert got["edu_canadian"] == COMBO[TIER[education], band], (education, years)
    for foreign, fband in FOREIGN_BAND.items():
        for level, band in LANGUAGE_BAND.items():
            got = points(
                {"date_of_birth": date(1980, 1, 1), "foreign_experience_years": foreign, "first_language": clb(level)},
                on,
            )
            assert got["foreign_language"] == COMBO[fband, band], (foreign, level)
        for years, band in CANADIAN_BAND.items():
            got = points(
                {
                    "date_of_birth": date(1980, 1, 1),
                    "foreign_experience_years": foreign,
                    "canadian_experience_years": years,
                },
                on,
            )
            assert got["foreign_canadian"] == COMBO[fband, band], (foreign, years)
    # certificate of qualification: CLB 5+ on all four with one under 7 → 25, CLB 7+ on all four → 50
    for level, cell in {4: 0, 5: 25, 6: 25, 7: 50, 10: 50}.items():
        got = points(
            {"date_of_birth": date(1980, 1, 1), "certificate_of_qualification": True, "first_language": clb(level)}, on
        )
        assert got["certificate"] == cell, level
    assert (
        points({"date_of_birth": date(1980, 1, 1), "first_language": clb(10)}, on)["certificate"] == 0
    )  # no certificate


@pytest.mark.parametrize("version", VERSIONS)
def test_additional_cells(version: str) -> None:
    on, base = ON[version], {"date_of_birth": date(1980, 1, 1)}
    assert points({**base, "provincial_nomination": True}, on)["provincial_nomination"] == 600
    assert points({**base, "sibling_in_canada": True}, on)["sibling"] == SIBLING[version]
    for level, cell in {"none": 0, "secondary": 0, "one_or_two_year": 15, "three_year_or_more": 30}.items():
        assert points({**base, "canadian_education": level}, on)["canadian_education"] == cell
    group_00, teer_0_3 = JOB[version]
    assert points({**base, "job_offer": {"teer": 0, "major_group_00": True}}, on)["job_offer"] == group_00
    for teer in range(6):
        assert points({**base, "job_offer": {"teer": teer}}, on)["job_offer"] == (teer_0_3 if teer <= 3 else 0)
    without, with_english = FRENCH[version]
    assert points({**base, "first_language": clb(7, test="nclc")}, on)["french"] == without
    assert points({**base, "first_language": clb(7, test="nclc"), "second_language": clb(4)}, on)["french"] == without
    assert (
        points({**base, "first_language": clb(7, test="nclc"), "second_language": clb(5)}, on)["french"] == with_english
    )
    assert (
        points({**base, "first_language": clb(5), "second_language": clb(9, test="nclc")}, on)["french"] == with_english
    )
    nearly = {**clb(7, test="nclc"), "speaking": 6}  # NCLC 7 on three abilities only
    assert points({**base, "first_language": nearly, "second_language": clb(9)}, on)["french"] == 0


# ------------------------------------------------------------------------- every chart cell


def test_the_charts_are_the_ones_typed_here() -> None:
    for test, expected in CHARTS.items():
        shipped = charts(test)
        assert len(shipped) == len(expected), test
        for chart, (_, rows) in zip(shipped, expected, strict=True):
            assert [[level, *lowest] for level, lowest in chart.rows] == rows, test


@pytest.mark.parametrize("test", CHARTS)
def test_every_chart_cell(test: str) -> None:
    step = STEP.get(test, 1)
    for taken, rows in CHARTS[test]:
        for level, *lowest in rows:
            for ability, score_ in enumerate(lowest):
                got = levels(test, taken, _one(ability, score_, rows))
                assert got[ability] == level, (test, taken, level, ability)
                below = levels(test, taken, _one(ability, score_ - step, rows))
                assert below[ability] == level - 1, (test, taken, level, ability, "below")


def _one(ability: int, value: float, rows: list[list[float]]) -> dict[str, float]:
    scores = dict(zip(("reading", "writing", "listening", "speaking"), rows[0][1:], strict=True))
    scores[("reading", "writing", "listening", "speaking")[ability]] = value
    return scores


def test_tef_is_read_by_the_chart_of_its_test_date() -> None:
    scores = {"reading": 450, "writing": 450, "listening": 450, "speaking": 450}
    assert levels("tef", date(2023, 12, 10), scores) == (7, 7, 7, 7)  # 2019-10-01 … 2023-12-10: 450-499 is NCLC 7
    assert levels("tef", date(2023, 12, 11), scores) == (7, 7, 7, 6)  # after: speaking 450 is NCLC 6 (422-455)
    old = {"reading": 233, "writing": 349, "listening": 280, "speaking": 349}
    assert levels("tef", date(2019, 9, 29), old) == (8, 8, 8, 8)
    with pytest.raises(ProfileError, match="first_language.reading 301 must be a tef score from 0 to 300"):
        parse({"date_of_birth": "1990-01-01", "first_language": {**clb(0, date(2019, 5, 1), "tef"), "reading": 301}})


def test_pte_core_counts_from_the_day_ircc_accepted_it() -> None:
    with pytest.raises(ProfileError, match="pte_core results are read from 2024-01-30"):
        parse({"date_of_birth": "1990-01-01", "first_language": clb(60, date(2024, 1, 29), "pte_core")})
    assert parse(
        {"date_of_birth": "1990-01-01", "first_language": clb(60, date(2024, 1, 30), "pte_core")}
    ).first_language


# --------------------------------------------------------------------- hand-computed profiles


def test_a_single_cec_candidate_by_hand() -> None:
    """Born 1995-04-14, so 31 on 2026-12-03: age 99.  Bachelor's: 120.  IELTS 8.0/7.5/8.5/7.5 is
    CLB 10 on all four: 4 × 34 = 136.  Canadian work since 2024-09-02: 2 completed years, 53.
    A = 99 + 120 + 136 + 53 = 408.  C: one credential + CLB 9+ = 25, + 2 years in Canada = 25 → 50;
    3 years abroad + CLB 9+ = 50, + 2 years in Canada = 50 → capped 50; C = 100.  Total 508."""
    profile = {
        "date_of_birth": "1995-04-14",
        "education": "bachelors_or_three_year",
        "foreign_experience_years": 3,
        "canadian_experience": [{"from": "2024-09-02"}],
        "first_language": {
            "test": "ielts",
            "test_date": "2026-01-10",
            "reading": 8.0,
            "writing": 7.5,
            "listening": 8.5,
            "speaking": 7.5,
        },
    }
    result = score(parse(profile), date(2026, 12, 3))
    assert (result.total, result.sections) == (508, {"A": 408, "B": 0, "C": 100, "D": 0})
    assert str(result.grid.since) == "2025-03-25"


def test_a_couple_with_french_by_hand() -> None:
    """On 2021-03-01 (grid of 2020-10-27), with an accompanying spouse.  Born 1988-07-20: 32, age 85.
    Master's: 126.  First language TEF (2020 chart) 500 on all four: NCLC 8, 4 × 22 = 88.  Second
    language CELPIP 7/7/7/6: 3+3+3+1 = 10.  Canadian experience 1 year: 35.  A = 85+126+88+10+35 = 344.
    Spouse: bachelor's 8, CLB 5 on all four 4 × 1 = 4, no Canadian work 0: B = 12.
    C: master's + NCLC 7-8 (not 9) = 25, + 1 year in Canada = 25 → 50; no foreign work 0; C = 50.
    D: French NCLC 7+ and English CLB 5 or more on all four?  Speaking is CELPIP 6 = CLB 6 ≥ 5: 50.
    Total 344 + 12 + 50 + 50 = 456."""
    profile = {
        "date_of_birth": "1988-07-20",
        "education": "masters_or_professional",
        "canadian_experience_years": 1,
        "first_language": {
            "test": "tef",
            "test_date": "2020-11-02",
            "reading": 500,
            "writing": 500,
            "listening": 500,
            "speaking": 500,
        },
        "second_language": {
            "test": "celpip",
            "test_date": "2020-12-01",
            "reading": 7,
            "writing": 7,
            "listening": 7,
            "speaking": 6,
        },
        "spouse": {"education": "bachelors_or_three_year", "language": clb(5)},
    }
    result = score(parse(profile), date(2021, 3, 1))
    assert result.sections == {"A": 344, "B": 12, "C": 50, "D": 50} and result.total == 456


def test_a_nominee_with_a_job_offer_by_hand() -> None:
    """On 2019-05-01 (grid of 2017-06-06): born 1978-05-02, so 40 (41 the next day): age 50 without a
    spouse.  Two-year diploma: 98.  CLB 7 on all four: 4 × 17 = 68.  No Canadian work.  A = 216.
    C: one credential + CLB 7 = 13; 2 years abroad + CLB 7 = 13; certificate + CLB 7 = 50; C = 76.
    D: nomination 600 + job offer TEER 2 50 + sibling 15 = 665, capped at 600.  Total 892."""
    profile = {
        "date_of_birth": "1978-05-02",
        "education": "two_year",
        "foreign_experience_years": 2,
        "first_language": clb(7),
        "certificate_of_qualification": True,
        "provincial_nomination": True,
        "job_offer": {"teer": 2},
        "sibling_in_canada": True,
    }
    result = score(parse(profile), date(2019, 5, 1))
    assert result.sections == {"A": 216, "B": 0, "C": 76, "D": 600} and result.total == 892
    assert score(parse(profile), date(2019, 5, 2)).factors["age"] == 39  # 41 the next day


# ------------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    ("before", "after", "points_before", "points_after"), [(29, 30, 110, 105), (44, 45, 6, 0), (17, 18, 0, 99)]
)
def test_birthday_boundaries(before: int, after: int, points_before: int, points_after: int) -> None:
    born = date(2005, 6, 15)  # 17→18 on 2023-06-15, 29→30 on 2035-06-15, 44→45 on 2050-06-15
    eve, birthday = date(2005 + after, 6, 14), date(2005 + after, 6, 15)
    profile = parse({"date_of_birth": born})
    assert age_on(born, eve) == before and age_on(born, birthday) == after
    assert score(profile, eve).factors["age"] == points_before
    assert score(profile, birthday).factors["age"] == points_after


def test_a_29_february_birthday_is_1_march_in_a_common_year_and_says_so() -> None:
    profile = parse({"date_of_birth": "1996-02-29"})
    assert score(profile, date(2026, 2, 28)).factors["age"] == 110  # still 29
    result = score(profile, date(2026, 3, 1))
    assert result.factors["age"] == 105 and any("29 February" in n for n in result.notes)


def test_a_spouse_who_is_a_citizen_or_stays_behind_is_no_spouse() -> None:
    base = {"date_of_birth": "1990-01-01", "education": "doctoral"}
    single = score(parse(base), date(2025, 6, 1))
    for spouse in (
        {"canadian_citizen_or_pr": True, "education": "doctoral"},
        {"accompanying": False, "education": "doctoral"},
    ):
        result = score(parse({**base, "spouse": spouse}), date(2025, 6, 1))
        assert result.factors == single.factors and result.total == single.total
        assert any("scored as no spouse" in n for n in result.notes)
    accompanying = score(parse({**base, "spouse": {"education": "doctoral"}}), date(2025, 6, 1))
    assert accompanying.factors["education"] == 140 and accompanying.factors["spouse_education"] == 10


def test_an_expired_test_counts_for_two_years_to_the_day() -> None:
    profile = parse({"date_of_birth": "1990-01-01", "first_language": clb(9, date(2024, 3, 10), "celpip")})
    assert score(profile, date(2026, 3, 9)).factors["first_language"] == 4 * 31
    expired = score(profile, date(2026, 3, 10))
    assert expired.factors["first_language"] == 0 and expired.factors["edu_language"] == 0
    assert any("stopped counting on 2026-03-10" in n for n in expired.notes)
    future = score(profile, date(2024, 3, 9))
    assert future.factors["first_language"] == 0 and any("after the day scored" in n for n in future.notes)


def test_the_french_bonus_before_and_after_2020_10_27() -> None:
    """TCF Canada 500/12/510/12 is NCLC 8/8/8/8; CELPIP 6 on all four is CLB 6, so "bilingual"."""
    tcf = {"test": "tcf", "test_date": "2020-06-01", "reading": 500, "writing": 12, "listening": 510, "speaking": 12}
    bilingual = parse(
        {"date_of_birth": "1990-01-01", "first_language": tcf, "second_language": clb(6, date(2020, 6, 1), "celpip")}
    )
    assert score(bilingual, date(2020, 10, 26)).factors["french"] == 30
    assert score(bilingual, date(2020, 10, 27)).factors["french"] == 50
    french_only = parse({"date_of_birth": "1990-01-01", "first_language": tcf})
    assert score(french_only, date(2020, 10, 26)).factors["french"] == 15
    assert score(french_only, date(2020, 10, 27)).factors["french"] == 25
    early = parse({"date_of_birth": "1990-01-01", "first_language": clb(9, test="nclc")})
    assert (
        score(early, date(2017, 6, 5)).factors["french"] == 0 and score(early, date(2017, 6, 6)).factors["french"] == 15
    )


def test_job_offer_points_before_and_after_2025_03_25() -> None:
    profile = parse({"date_of_birth": "1990-01-01", "job_offer": {"teer": 0, "major_group_00": True}})
    assert score(profile, date(2025, 3, 24)).factors["job_offer"] == 200
    after = score(profile, date(2025, 3, 25))
    assert after.factors["job_offer"] == 0 and any("no points for a job offer" in n for n in after.notes)
    old = score(profile, date(2022, 11, 15))
    assert old.factors["job_offer"] == 200 and any("NOC 2016" in n for n in old.notes)


def test_a_day_before_the_oldest_grid_is_an_error() -> None:
    with pytest.raises(RulesError, match="no CRS rules for 2016-11-18"):
        score(parse({"date_of_birth": "1990-01-01"}), date(2016, 11, 18))
    assert str(grid_on(date(2016, 11, 19)).since) == "2016-11-19"


def test_the_reported_change_is_named_never_silent() -> None:
    profile = parse({"date_of_birth": "1990-01-01"})
    assert not score(profile, date(2026, 11, 2)).notes
    later = score(profile, date(2026, 11, 3))
    assert str(later.grid.since) == "2025-03-25"
    assert any("2026-11-03" in n and "could not be confirmed" in n and "2025-03-25" in n for n in later.notes)


def test_an_operators_version_replaces_the_report_and_is_named(tmp_path: Path) -> None:
    text = (ROOT / "draws" / "crs" / "rules" / "2025-03-25.toml").read_text()
    (tmp_path / "2026-11-03.toml").write_text(
        text.replace("since = 2025-03-25", "since = 2026-11-03").replace("sibling = 15", "sibling = 0")
    )
    extra = from_folder(tmp_path)
    profile = parse({"date_of_birth": "1990-01-01", "sibling_in_canada": True})
    result = score(profile, date(2026, 12, 3), extra)
    assert str(result.grid.since) == "2026-11-03" and result.grid.origin.endswith("2026-11-03.toml")
    assert result.factors["sibling"] == 0 and not result.notes
    assert score(profile, date(2026, 11, 2), extra).factors["sibling"] == 15


def test_a_broken_operator_file_names_the_file_and_key(tmp_path: Path) -> None:
    text = (ROOT / "draws" / "crs" / "rules" / "2025-03-25.toml").read_text()
    (tmp_path / "2027-01-01.toml").write_text(
        text.replace("since = 2025-03-25", "since = 2027-01-01").replace("doctoral = [140, 150]", "")
    )
    with pytest.raises(RulesError, match=r"2027-01-01.toml: core.education must give exactly"):
        from_folder(tmp_path)


# -------------------------------------------------------------------------------------- caps


def test_each_cap() -> None:
    on = date(2024, 1, 15)
    top = {
        "date_of_birth": "2000-01-01",
        "education": "doctoral",
        "first_language": clb(12),
        "second_language": clb(12, test="nclc"),
        "canadian_experience_years": 9,
        "foreign_experience_years": 9,
        "certificate_of_qualification": True,
        "canadian_education": "three_year_or_more",
        "sibling_in_canada": True,
        "provincial_nomination": True,
        "job_offer": {"teer": 0, "major_group_00": True},
    }
    single = score(parse(top), on)
    assert single.factors["second_language"] == 24  # 4 × 6 = 24: the cap is exactly reached
    assert single.sections["A"] == 500 and single.sections["C"] == 100 and single.sections["D"] == 600
    assert (
        single.factors["education_transferability"] == 50 and single.factors["foreign_transferability"] == 50
    )  # 100 each, capped
    assert single.total == 1200
    couple = score(
        parse({**top, "spouse": {"education": "doctoral", "language": clb(10), "canadian_experience_years": 5}}), on
    )
    assert couple.factors["second_language"] == 22  # 24 capped at 22
    assert couple.sections["A"] == 460 and couple.sections["B"] == 40 and couple.total == 1200


# ---------------------------------------------------------------------------------- experience


def test_experience_periods_grow_with_the_date_and_count_ten_years() -> None:
    ongoing = (Period(date(2023, 1, 10)),)
    assert experience_years(ongoing, date(2024, 1, 9)) == 0
    assert experience_years(ongoing, date(2024, 1, 10)) == 1
    assert experience_years(ongoing, date(2028, 1, 10)) == 5
    overlapping = (Period(date(2020, 1, 1), date(2020, 12, 31)), Period(date(2020, 6, 1), date(2021, 5, 31)))
    assert experience_years(overlapping, date(2026, 1, 1)) == 1  # counted once
    two_halves = (Period(date(2018, 1, 1), date(2018, 6, 30)), Period(date(2019, 1, 1), date(2019, 7, 1)))
    assert experience_years(two_halves, date(2020, 1, 1)) == 0  # 181 + 182 = 363 days
    assert (
        experience_years(two_halves[:1] + (Period(date(2019, 1, 1), date(2019, 7, 3)),), date(2020, 1, 1)) == 1
    )  # 365 days
    assert (
        experience_years((Period(date(2010, 1, 1), date(2015, 12, 31)),), date(2024, 1, 1)) == 2
    )  # only 2014-01-01 to 2015-12-31 counts


# ---------------------------------------------------------------------------------- properties

LEVEL = st.integers(min_value=0, max_value=12)
DAY = st.dates(min_value=date(2016, 11, 19), max_value=date(2030, 12, 31))
profiles = st.fixed_dictionaries({
    "date_of_birth": st.dates(min_value=date(1950, 1, 1), max_value=date(2000, 12, 31)),
    "education": st.sampled_from(EDUCATION),
    "first_language": st.tuples(LEVEL, LEVEL, LEVEL, LEVEL).map(lambda t: dict(zip(("reading", "writing", "listening", "speaking"), t, strict=True)) | {"test": "clb"}),
    "canadian_experience_years": st.integers(0, 12),
    "foreign_experience_years": st.integers(0, 12),
    "certificate_of_qualification": st.booleans(),
    "canadian_education": st.sampled_from(("none", "secondary", "one_or_two_year", "three_year_or_more")),
    "sibling_in_canada": st.booleans(),
    "provincial_nomination": st.booleans(),
}, optional={"spouse": st.fixed_dictionaries({"education": st.sampled_from(EDUCATION), "canadian_experience_years": st.integers(0, 8)}),
             "second_language": st.tuples(LEVEL, LEVEL, LEVEL, LEVEL).map(lambda t: dict(zip(("reading", "writing", "listening", "speaking"), t, strict=True)) | {"test": "nclc"})})  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(profiles, DAY, st.sampled_from(("canadian_experience_years", "foreign_experience_years")))
def test_more_experience_never_lowers_a_score(data: dict[str, Any], on: date, key: str) -> None:
    if on < data["date_of_birth"]:
        return
    more = {**data, key: data[key] + 1}
    assert score(parse(more), on).total >= score(parse(data), on).total


@settings(max_examples=150, deadline=None)
@given(profiles, DAY)
def test_age_points_never_rise_after_29(data: dict[str, Any], on: date) -> None:
    profile = parse(data)
    if age_on(profile.date_of_birth, on) < 29:
        return
    next_year = score(profile, on + timedelta(days=366)).factors["age"]
    assert next_year <= score(profile, on).factors["age"]


@settings(max_examples=200, deadline=None)
@given(profiles, DAY)
def test_no_section_passes_its_cap(data: dict[str, Any], on: date) -> None:
    if on < data["date_of_birth"]:
        return
    result = score(parse(data), on)
    couple = "spouse" in data
    assert result.sections["A"] <= (460 if couple else 500) and result.sections["B"] <= 40
    assert result.sections["C"] <= 100 and result.sections["D"] <= 600 and result.total <= 1200
    assert result.factors["education_transferability"] <= 50 and result.factors["foreign_transferability"] <= 50
    assert result.factors["second_language"] <= (22 if couple else 24)
    assert result.total == sum(result.sections.values())


# ------------------------------------------------------------------------------------- profile


def test_unknown_keys_and_values_are_named() -> None:
    with pytest.raises(ProfileError) as info:
        parse(
            {
                "date_of_birth": "1990-01-01",
                "educaton": "doctoral",
                "canadian_education": "phd",
                "first_language": {"test": "toefl"},
                "spouse": {"education": "x", "pet": 1},
                "job_offer": {"teer": 7},
            }
        )
    problems = "\n".join(info.value.problems)
    for word in (
        "'educaton'",
        "canadian_education 'phd'",
        "first_language.test 'toefl'",
        "spouse.education 'x'",
        "spouse.pet",
        "job_offer.teer",
    ):
        assert word in problems
    with pytest.raises(ProfileError, match="date_of_birth is required"):
        parse({})
    with pytest.raises(ProfileError, match="not both"):
        parse(
            {
                "date_of_birth": "1990-01-01",
                "canadian_experience_years": 1,
                "canadian_experience": [{"from": "2020-01-01"}],
            }
        )
    with pytest.raises(ProfileError, match="one English and one French"):
        parse({"date_of_birth": "1990-01-01", "first_language": clb(7), "second_language": clb(7)})
    with pytest.raises(ProfileError, match="ielts score from 0 to 9 in steps of 0.5"):
        parse({"date_of_birth": "1990-01-01", "first_language": {**clb(0, date(2025, 1, 1), "ielts"), "reading": 6.3}})


def test_the_typed_profile() -> None:
    profile = parse({"date_of_birth": "1990-01-01", "job_offer": {"teer": 1}, "spouse": {"canadian_experience_years": 2},
                     "canadian_experience": [{"from": "2020-01-01", "to": "2021-06-30"}], "profile_created": "2026-01-05T10:00:00Z",
                     "second_language": clb(5, date(2026, 1, 1), "tef") | {"reading": 200, "writing": 300, "listening": 250, "speaking": 300},
                     "first_language": clb(8, date(2026, 1, 1), "celpip")})  # fmt: skip
    assert profile.job_offer == JobOffer(1) and profile.spouse == Spouse(canadian_experience_years=2)
    assert profile.canadian_experience == (Period(date(2020, 1, 1), date(2021, 6, 30)),)
    assert isinstance(profile.second_language, Language) and profile.second_language.french
    assert isinstance(profile, Profile) and profile.profile_created and profile.profile_created.tzinfo


@settings(max_examples=100, deadline=None)
@given(profiles, DAY, st.integers(0, 3650))
def test_the_ceiling_bounds_every_day_ahead(data: dict[str, Any], start: date, ahead: int) -> None:
    """What matching relies on to skip a profile: no day in the range scores above its ceiling."""
    from crswatch.draws.crs.score import ceiling

    if ahead % 2:  # half the time with periods (one ongoing), so that the years grow over the range
        data = {k: v for k, v in data.items() if k != "canadian_experience_years"}
        data["canadian_experience"] = [
            {"from": str(start - timedelta(days=400))},
            {"from": "2012-01-01", "to": "2014-06-30"},
        ]
    profile = parse(data)
    end = start + timedelta(days=3650)
    if start < profile.date_of_birth:
        return
    day = start + timedelta(days=ahead)
    assert score(profile, day).total <= ceiling(profile, start, end)
