"""Parsing against the real snapshots: every round, golden values, and the feed's quirks."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from helpers import SNAPSHOTS, snapshot

from crswatch.draws.streams import stream_of
from crswatch.scraper.dates import parse_stamp
from crswatch.scraper.parse import FeedError, RoundError, parse_feed, parse_round, public_url, split_programs

GOLDEN = Path(__file__).parent / "golden" / "draws.json"
# Rounds whose parse is pinned in the golden file: the newest, lettered numbers, blank
# tie-breaks, and every kind of irregular timestamp spelling.
GOLDEN_ROUNDS = {
    "2026-01-21": ["392", "391", "388", "355", "345", "332", "324", "300", "255", "236", "181", "91a", "91b", "1"],
    "2023-04-12": ["246", "245", "240"],
}
EXPECTED_COUNTS = {
    "2023-01-18": 239,
    "2023-04-12": 247,
    "2025-07-08": 356,
    "2025-12-17": 389,
    "2026-01-20": 392,
    "2026-01-21": 393,
}


def _rounds(path: Path) -> list[dict]:
    return parse_feed(path.read_bytes())


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.name)
def test_every_round_of_every_snapshot_parses_without_error_or_warning(path: Path) -> None:
    rounds = _rounds(path)
    assert len(rounds) == EXPECTED_COUNTS[path.name.split(".")[1]]
    for raw in rounds:
        draw = parse_round(raw)
        assert draw.warnings == (), (draw.number, draw.warnings)
        assert draw.stream != "other"
        assert draw.url and draw.url.startswith("https://www.canada.ca/en/")
        # every non-empty timestamp in the snapshots must be read
        assert (draw.drawn_at is not None) == bool(raw["drawDateTime"].strip())
        assert (draw.tie_break is not None) == bool(raw["drawCutOff"].strip())
        if draw.pool:
            assert draw.pool_as_of is not None


def test_golden_values_of_round_392() -> None:
    draw = parse_round(_rounds(snapshot("2026-01-21"))[0])
    assert draw.number == "392"
    assert draw.program == "Canadian Experience Class"
    assert draw.stream == "cec"
    assert draw.invitations == 6000
    assert draw.crs == 509
    assert draw.date == date(2026, 1, 21)
    assert draw.drawn_at == datetime(2026, 1, 21, 12, 37, 42, tzinfo=UTC)
    assert draw.tie_break == datetime(2025, 10, 29, 4, 35, 24, tzinfo=UTC)
    assert draw.eligible_programs == ("Canadian Experience Class",)
    assert draw.url == (
        "https://www.canada.ca/en/immigration-refugees-citizenship/corporate/mandate/policies-operational-"
        "instructions-agreements/ministerial-instructions/express-entry-rounds/invitations.html?q=392"
    )
    assert draw.pool is not None and draw.pool["total"] == 237120 and draw.pool["601-1200"] == 677
    assert draw.pool_as_of == date(2026, 1, 19)


def _golden_actual() -> dict[str, dict]:
    actual = {}
    for day, numbers in GOLDEN_ROUNDS.items():
        by_number = {r["drawNumber"]: r for r in _rounds(snapshot(day))}
        for number in numbers:
            record = parse_round(by_number[number]).to_record()
            record.pop("raw")
            actual[f"{day}#{number}"] = record
    return actual


def test_golden_file() -> None:
    """Regenerate after a deliberate change with CRSWATCH_UPDATE_GOLDEN=1 and review the diff."""
    actual = _golden_actual()
    if os.environ.get("CRSWATCH_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n")
    assert json.loads(GOLDEN.read_text()) == actual


@pytest.mark.parametrize(
    ("text", "draw_day", "expected"),
    [
        ("January 21, 2026 at 12:37:42 UTC", None, "2026-01-21T12:37:42"),
        (" January 17, 2018 at 12:33:00 UTC", None, "2018-01-17T12:33:00"),
        ("April 22, 2023 19:46:58 UTC", None, "2023-04-22T19:46:58"),  # no "at"
        ("August 30. 2023 at 17:30:21 UTC", None, "2023-08-30T17:30:21"),  # full stop for comma
        ("March 02. 2024 at 01:58:34 UTC", None, "2024-03-02T01:58:34"),
        ("December 09, 2022, at 10:49:57 UTC", None, "2022-12-09T10:49:57"),
        ("February 18 2021 at 05:05:15 UTC", None, "2021-02-18T05:05:15"),  # no comma
        ("June 06,2022 20:48:23 UTC", None, "2022-06-06T20:48:23"),
        ("June 15, 2023 at 23:49:05", None, "2023-06-15T23:49:05"),  # no "UTC"
        ("June 22, 2021 at 20:19:59 PM UTC", None, "2021-06-22T20:19:59"),  # 24-hour with PM
        ("October 25, 2023 at 15:48:39 AM UTC", None, "2023-10-25T15:48:39"),  # 24-hour with AM
        ("September 30, 2023 at 04:22:17 AM UTC", None, "2023-09-30T04:22:17"),
        ("October 18, 2025 at  7:18:52 UTC", None, "2025-10-18T07:18:52"),  # double space
        ("May 31, 2024 at12:48:30 UTC", None, "2024-05-31T12:48:30"),
        ("January 23, 2025 at 2025-01-23 15:30:04 UTC", None, "2025-01-23T15:30:04"),
        ("October 7 at 16:38:21 UTC", date(2021, 10, 27), "2021-10-07T16:38:21"),  # year from the draw
        ("December 30 at 10:00:00 UTC", date(2022, 1, 5), "2021-12-30T10:00:00"),  # the year before
        ("October 7 at 16:38:21 UTC", None, None),  # a year cannot be invented
        ("January 23, 2025 at 2024-01-23 15:30:04 UTC", None, None),  # contradicting dates
        ("February 30, 2025 at 10:00:00 UTC", None, None),
        ("soon", None, None),
        ("", None, None),
    ],
)
def test_irregular_timestamps(text: str, draw_day: date | None, expected: str | None) -> None:
    stamp = parse_stamp(text, draw_day)
    assert (stamp.replace(tzinfo=None).isoformat() if stamp else None) == expected
    assert stamp is None or stamp.tzinfo == UTC


@pytest.mark.parametrize(
    ("name", "stream"),
    [
        ("No Program Specified", "general"),
        ("General", "general"),
        ("Canadian Experience Class", "cec"),
        ("Provincial Nominee Program", "pnp"),
        ("Federal Skilled Worker", "fsw"),
        ("Federal Skilled Trades", "fst"),
        ("French language proficiency (Version 1)", "french"),
        ("French language proficiency (2023-1)", "french"),
        ("Healthcare occupations (Version 1)", "healthcare"),
        ("Healthcare occupations (2023-1)", "healthcare"),
        ("Healthcare and social services occupations (Version 2)", "healthcare"),
        ("STEM occupations (Version 1)", "stem"),
        ("Trade occupations (Version 1)", "trades"),  # the category, not the FST program
        ("Trade occupations (Version 2)", "trades"),
        ("Transport occupations (Version 1)", "transport"),
        ("Agriculture and agri-food occupations (Version 1)", "agriculture"),
        ("Education occupations (Version 1)", "education"),
        ("  Canadian  Experience Class ", "cec"),
        # shares words with known streams but is none of them: never guessed
        ("Canadian Experience Class with French", None),
        ("Pharmacists with Canadian work experience (Version 1)", None),
        ("Federal Skilled Trades occupations in healthcare", None),
        ("Senior managers with Canadian work experience", "managers"),
        ("Senior managers", None),
    ],
)
def test_stream_codes_by_meaning_not_by_word(name: str, stream: str | None) -> None:
    assert stream_of(name) == stream


def test_unknown_draw_name_is_kept_as_other_with_a_warning() -> None:
    raw = dict(_rounds(snapshot("2026-01-21"))[0], drawName="Pharmacists with Canadian work experience (Version 1)")
    draw = parse_round(raw)
    assert draw.stream == "other"
    assert draw.program == "Pharmacists with Canadian work experience (Version 1)"
    assert "unknown draw name" in draw.warnings[0]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("drawCRS", "", "drawCRS"),
        ("drawCRS", "n/a", "drawCRS"),
        ("drawSize", "about 6000", "drawSize"),
        ("drawSize", None, "drawSize"),
        ("drawNumber", "", "drawNumber"),
        ("drawName", " ", "drawName"),
        ("drawDate", "someday", "drawDate"),
    ],
)
def test_required_fields_make_a_round_malformed(field: str, value: str | None, message: str) -> None:
    raw = dict(_rounds(snapshot("2026-01-21"))[0])
    raw[field] = value
    if field == "drawDate":
        raw["drawDateFull"] = ""
    with pytest.raises(RoundError, match=message):
        parse_round(raw)


def test_unreadable_tie_break_is_none_with_a_warning_and_raw_kept() -> None:
    raw = dict(_rounds(snapshot("2026-01-21"))[0], drawCutOff="the twelfth of never")
    draw = parse_round(raw)
    assert draw.tie_break is None
    assert draw.raw["drawCutOff"] == "the twelfth of never"
    assert any("drawCutOff" in w for w in draw.warnings)


def test_day_first_draw_date_is_read_through_the_full_date() -> None:
    by_number = {r["drawNumber"]: r for r in _rounds(snapshot("2023-04-12"))}
    assert by_number["246"]["drawDate"] == "12-04-2023"
    assert parse_round(by_number["246"]).date == date(2023, 4, 12)


def test_lettered_numbers() -> None:
    numbers = [r["drawNumber"] for r in _rounds(snapshot("2026-01-21"))]
    assert "91a" in numbers and "91b" in numbers
    by_number = {r["drawNumber"]: r for r in _rounds(snapshot("2026-01-21"))}
    assert parse_round(by_number["91a"]).url.endswith("invitations.html?q=91a")


@pytest.mark.parametrize(
    ("href", "url"),
    [
        (
            "/en/immigration-refugees-citizenship/x/invitations-48.html",
            "https://www.canada.ca/en/immigration-refugees-citizenship/x/invitations-48.html",
        ),
        ("/en/x/invitations.html?q=300", "https://www.canada.ca/en/x/invitations.html?q=300"),
        ("/content/canadasite/en/x/invitations.html?q=392", "https://www.canada.ca/en/x/invitations.html?q=392"),
    ],
)
def test_three_href_shapes_give_public_links(href: str, url: str) -> None:
    assert public_url(href) == url


def test_eligible_programs_are_split() -> None:
    text = "Federal Skilled Worker Program, Canadian Experience Class and Federal Skilled Trades Program"
    assert split_programs(text) == (
        "Federal Skilled Worker Program",
        "Canadian Experience Class",
        "Federal Skilled Trades Program",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html><body>Service unavailable</body></html>", "HTML"),
        (b'{"classes": "wb-tables", "rounds": [', "not valid JSON"),
        (b'{"classes": "wb-tables"}', 'no "rounds"'),
        (b'{"rounds": {}}', "not a list"),
        (b'{"rounds": []}', "no rounds"),
        (b"[1, 2]", 'no "rounds"'),
    ],
)
def test_bad_feeds_raise_one_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        parse_feed(body)


def test_crlf_and_bom_are_accepted() -> None:
    body = snapshot("2025-07-08").read_bytes()
    assert b"\r\n" in body
    assert len(parse_feed(b"\xef\xbb\xbf" + body)) == 356
