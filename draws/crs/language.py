"""Test scores → CLB/NCLC levels, by IRCC's equivalency charts (data files in `charts/`, dated by
test date: TEF Canada has had three)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

ABILITIES = ("reading", "writing", "listening", "speaking")
TESTS = ("ielts", "celpip", "pte_core", "tef", "tcf", "clb", "nclc")
FRENCH = frozenset({"tef", "tcf", "nclc"})  # the rest are English
LEVEL_TESTS = frozenset({"clb", "nclc"})  # levels given directly


@dataclass(frozen=True)
class Chart:
    test: str
    since: date | None  # tests taken on or after this day; None = from the beginning
    top: tuple[float, ...]  # the highest score of each ability
    step: float  # scores come in steps of this
    rows: tuple[tuple[int, tuple[float, ...]], ...]  # (level, lowest score per ability), best first

    def level(self, ability: int, score: float) -> int:
        for level, lowest in self.rows:
            if score >= lowest[ability]:
                return level
        return self.rows[-1][0] - 1  # below the chart: scores nothing anywhere in the grid


class ChartError(ValueError):
    """A score that the chart of its test date cannot read."""


@cache
def charts(test: str) -> tuple[Chart, ...]:
    """The test's charts, oldest first."""
    data = tomllib.loads((Path(__file__).parent / "charts" / f"{test}.toml").read_text(encoding="utf-8"))
    return tuple(_chart(test, c) for c in data["charts"])


def _chart(test: str, data: dict[str, Any]) -> Chart:
    rows = tuple((int(r[0]), tuple(float(x) for x in r[1:])) for r in data["rows"])
    return Chart(test, data.get("since"), tuple(float(x) for x in data["max"]), float(data["step"]), rows)


def chart_for(test: str, taken: date) -> Chart:
    usable = [c for c in charts(test) if c.since is None or c.since <= taken]
    if not usable:
        raise ChartError(
            f"{test} results are read from {charts(test)[0].since} on (IRCC's first chart for it); the test date is {taken}"
        )
    return usable[-1]


def levels(test: str, taken: date | None, scores: dict[str, float]) -> tuple[int, ...]:
    """The CLB/NCLC level of each ability (reading, writing, listening, speaking)."""
    if test in LEVEL_TESTS:
        return tuple(int(scores[a]) for a in ABILITIES)
    assert taken is not None  # the profile requires a test date for a test
    chart = chart_for(test, taken)
    return tuple(chart.level(i, scores[a]) for i, a in enumerate(ABILITIES))


def check_score(test: str, taken: date | None, ability: str, score: float) -> str | None:
    """Why this score cannot be read (None when it can)."""
    if test in LEVEL_TESTS:
        return None if score == int(score) and 0 <= score <= 12 else "must be a level from 0 to 12"
    if taken is None:
        return None  # reported as a missing test_date
    try:
        chart = chart_for(test, taken)
    except ChartError as exc:
        return str(exc)
    top = chart.top[ABILITIES.index(ability)]
    if not 0 <= score <= top or (score / chart.step) != int(score / chart.step):
        step = "" if chart.step == 1 else f" in steps of {chart.step:g}"
        return f"must be a {test} score from 0 to {top:g}{step} (the chart for tests taken on {taken})"
    return None
