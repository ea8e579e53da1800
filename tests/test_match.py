"""The matching table: every verdict, every boundary, from the rule in draws/match.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crswatch.draws.match import Verdict, verdict

T = datetime(2025, 10, 29, 4, 35, 24, tzinfo=UTC)
BEFORE, AT, AFTER = datetime(2025, 10, 1, tzinfo=UTC), T, datetime(2025, 11, 1, tzinfo=UTC)
CEC = ("cec", "fsw", "fst")

CASES = [
    # stream, crs, tie_break, score, within, streams, profile, expected
    ("cec", 509, T, 510, 10, CEC, None, Verdict.INVITED),
    ("cec", 509, T, 600, 0, CEC, AFTER, Verdict.INVITED),
    ("cec", 509, T, 509, 10, CEC, BEFORE, Verdict.INVITED),
    ("cec", 509, T, 509, 10, CEC, AT, Verdict.JUST_MISSED),  # "at or after" loses
    ("cec", 509, T, 509, 10, CEC, AFTER, Verdict.JUST_MISSED),
    ("cec", 509, T, 509, 10, CEC, None, Verdict.AT_CUTOFF),
    ("cec", 509, None, 509, 10, CEC, BEFORE, Verdict.AT_CUTOFF),
    ("cec", 509, T, 508, 10, CEC, None, Verdict.CLOSE),
    ("cec", 509, T, 500, 10, CEC, None, Verdict.CLOSE),
    ("cec", 509, T, 499, 10, CEC, None, Verdict.CLOSE),  # exactly `within` below
    ("cec", 509, T, 498, 10, CEC, None, None),
    ("cec", 509, T, 495, 10, CEC, None, None),
    ("cec", 509, T, 508, 0, CEC, None, None),
    ("cec", 509, T, 600, 10, ("french",), None, None),  # not open to them
    ("general", 490, T, 495, 10, ("french",), None, Verdict.INVITED),  # general is open to all
    ("general", 490, T, 485, 5, ("pnp",), None, Verdict.CLOSE),
    ("other", 480, T, 500, 10, ("other",), None, Verdict.INVITED),
    ("trades", 430, T, 500, 10, ("fst",), None, None),  # the trades category is not the FST program
]


@pytest.mark.parametrize(("stream", "crs", "tie", "score", "within", "streams", "profile", "expected"), CASES)
def test_verdict_table(stream, crs, tie, score, within, streams, profile, expected) -> None:  # noqa: ANN001
    assert (
        verdict(
            stream=stream, crs=crs, tie_break=tie, score=score, within=within, streams=streams, profile_created=profile
        )
        == expected
    )
