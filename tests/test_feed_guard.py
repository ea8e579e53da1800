"""Issue 22, the feed side: numbers compared normalised, renumbered and mass changes held, corrections
that converge, and feed text that is capped, quoted short and shown without control characters.

Rules on real rounds with one thing altered (tables and properties), merged into a real draws file."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import snapshot
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crswatch.draws.guard import Rules
from crswatch.draws.record import Draw
from crswatch.draws.table import REVISIONS, merge_draws
from crswatch.draws.text import normal_number, printable, shown
from crswatch.notifier.fanout import plan
from crswatch.notifier.message import CORRECTION
from crswatch.scraper.items import RawRound
from crswatch.scraper.parse import MAX_FIELD, RoundError, parse_feed, parse_round
from crswatch.scraper.pipelines import ParsePipeline
from crswatch.store.draws import Database
from crswatch.subscribers.model import Channel, Subscriber

DAY2 = parse_feed(snapshot("2026-01-21").read_bytes())
NOW = datetime(2026, 1, 22, 12, tzinfo=UTC)


def _draws(rounds: list[dict]) -> list[Draw]:
    return [parse_round(r) for r in rounds]


def _stored(tmp_path: Path, rounds: list[dict] = DAY2) -> Database:
    database = Database(tmp_path / "db.json")
    with database.transaction() as tx:
        merge_draws(tx, _draws(rounds), NOW)
    return database


def _merge(database: Database, rounds: list[dict], **kwargs: object):  # type: ignore[no-untyped-def]
    with database.transaction() as tx:
        return merge_draws(tx, _draws(rounds), NOW, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- the normaliser

SPELLINGS = ["392", "0392", "00392", "392\u200b", "\u200b392", "\ufeff392", " 392 ", "3\u00a092", "#392", "３９２", "0３９２",
             "392\u2060", "3\u200d92", "\t392\r\n", "\u0663\u0669\u0662", "392\u202f"]  # fmt: skip


RESPELL = [lambda n: "0" + n, lambda n: n + "\u200b", lambda n: "\ufeff" + n, lambda n: f" {n} ", lambda n: "#" + n, lambda n: n.upper(),
           lambda n: "".join(chr(ord(c) + 0xFEE0) for c in n), lambda n: "00" + n + "\u2060"]  # fmt: skip


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_a_number_is_that_number(spelling: str) -> None:
    assert normal_number(spelling) == "392"


@pytest.mark.parametrize(("spelling", "number"), [("91a", "91a"), ("91A", "91a"), ("091ａ", "91a"), ("0", "0"), ("000", "0"),
                                                  ("0a", "0a"), ("", ""), ("\u200b", ""), ("12-1", "12-1")])  # fmt: skip
def test_letters_and_zeros(spelling: str, number: str) -> None:
    assert normal_number(spelling) == number


_INVISIBLE = st.sampled_from(
    ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", " ", "\u00a0", "\u2009", "\u3000", "\t"]
)


@settings(max_examples=300, deadline=None)
@given(number=st.integers(min_value=1, max_value=99_999), zeros=st.integers(0, 3), letter=st.sampled_from(["", "a", "B"]),
       noise=st.lists(st.tuples(st.integers(0, 10), _INVISIBLE), max_size=4), wide=st.booleans())  # fmt: skip
def test_property_noise_never_changes_a_number(
    number: int, zeros: int, letter: str, noise: list[tuple[int, str]], wide: bool
) -> None:
    text = "0" * zeros + str(number) + letter
    if wide:  # fullwidth forms, as an editor on a CJK keyboard types them
        text = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)
    for position, char in noise:
        text = text[:position] + char + text[position:]
    assert normal_number(text) == f"{number}{letter.lower()}"


@settings(max_examples=300, deadline=None)
@given(st.text())
@example("t\u00a8")  # NFKC makes "ẗ", which has no one-character case folding: casefold gives "t" + U+0308
def test_property_the_normal_form_is_stable_and_clean(text: str) -> None:
    number = normal_number(text)
    assert normal_number(number) == number
    assert not any(c.isspace() or unicodedata.category(c) in ("Cf", "Cc") for c in number)
    assert unicodedata.normalize("NFKC", number.casefold()) == number  # folded: folding again changes nothing


# ------------------------------------------------------------------------------------ renumbering


def test_a_respelt_feed_changes_nothing(tmp_path: Path) -> None:
    database = _stored(tmp_path)
    respelt = [dict(r, drawNumber=RESPELL[i % len(RESPELL)](r["drawNumber"])) for i, r in enumerate(DAY2)]
    changes = _merge(database, respelt)
    assert (len(changes.new), len(changes.changed), changes.unchanged, changes.malformed) == (0, 0, len(DAY2), [])
    with database.reader() as view:
        assert not view.table(REVISIONS).all()


def test_a_renumbered_draw_is_the_draw_it_matches(tmp_path: Path) -> None:
    database = _stored(tmp_path)
    shifted = [dict(r, drawNumber=f"EE-{r['drawNumber']}") if i < 5 else r for i, r in enumerate(DAY2)]
    changes = _merge(database, shifted)
    assert changes.new == [] and changes.malformed == []
    assert changes.renumbered[:2] == [("ee-392", "392"), ("ee-391", "391")] and len(changes.renumbered) == 5


def test_many_new_draws_in_the_past_are_held_a_catch_up_is_not(tmp_path: Path) -> None:
    database = _stored(tmp_path, DAY2[10:])  # the ten newest draws are not stored yet: days of downtime
    catch_up = _merge(database, DAY2)
    assert len(catch_up.new) == 10 and catch_up.malformed == []

    database = _stored(tmp_path / "b", DAY2)
    rewritten = [dict(r, drawNumber=f"EE-{r['drawNumber']}", drawName=r["drawName"] + " (Version 9)") for r in DAY2]
    held = _merge(database, rewritten)
    assert held.new == [] and len(held.malformed) == 1 and held.malformed[0].number is None
    assert f"{len(DAY2)} draws dated on or before the newest stored one" in held.malformed[0].reason
    assert "--accept-new all" in held.malformed[0].reason and len(held.malformed[0].reason) < 400
    with database.reader() as view:
        assert len(view.table("draws")) == len(DAY2)
    few = _merge(database, rewritten[:3] + DAY2[3:], rules=Rules(max_new=3, max_back=timedelta(days=10_000)))
    assert len(few.new) == 3  # a few at once are draws like any other


def test_a_new_draw_far_in_the_past_is_held_until_accepted(tmp_path: Path) -> None:
    database = _stored(tmp_path, DAY2[:5] + DAY2[6:])
    old = DAY2[5]  # a draw dated before the newest stored
    late = _merge(database, DAY2, rules=Rules(max_back=timedelta(days=0)))
    assert late.new == [] and late.malformed[0].number == old["drawNumber"]
    assert f"--accept-new {old['drawNumber']}" in late.malformed[0].reason
    accepted = _merge(database, DAY2, rules=Rules(max_back=timedelta(days=0)), accept_new=[old["drawNumber"]])
    assert [d.number for d in accepted.new] == [old["drawNumber"]] and accepted.malformed == []


def test_a_first_ingest_holds_nothing(tmp_path: Path) -> None:
    database = Database(tmp_path / "db.json")
    changes = _merge(database, DAY2, rules=Rules(max_new=0, max_back=timedelta(days=0)))
    assert len(changes.new) == len(DAY2) and changes.malformed == []


# ------------------------------------------------------------------------------------ corrections


def test_a_round_listed_twice_with_different_data_is_held(tmp_path: Path) -> None:
    database = _stored(tmp_path, DAY2[1:])
    doubled = [
        DAY2[0],
        dict(DAY2[0], drawCRS="520"),
        *DAY2[1:],
        dict(DAY2[1], drawNumber="0391"),
    ]  # and 391 twice alike
    changes = _merge(database, doubled)
    assert changes.new == [] and [m.number for m in changes.malformed] == ["392"]
    assert "listed 2 times with different data" in changes.malformed[0].reason
    accepted = _merge(database, doubled, accept=["392"])
    assert [(d.number, d.crs) for d in accepted.new] == [("392", 509)]  # the first copy


def test_a_flip_flop_is_one_change_and_each_version_logged_once(tmp_path: Path) -> None:
    database = _stored(tmp_path)
    version_b = [dict(DAY2[0], drawCRS="515"), *DAY2[1:]]
    kinds = []
    for rounds in [version_b, DAY2, version_b, DAY2, version_b]:
        changes = _merge(database, rounds)
        kinds.append((len(changes.changed), len(changes.returned)))
    assert kinds == [(1, 0), (0, 1), (0, 1), (0, 1), (0, 1)]
    with database.reader() as view:
        assert len(view.table(REVISIONS).all()) == 2  # A and B, once each
        (stored,) = [d for d in view.table("draws").all() if d["number"] == "392"]
    assert stored["crs"] == 515 and stored["revision"] == 5


def _subscriber(score: int) -> Subscriber:
    return Subscriber(id="s1", created_at=datetime(2020, 1, 1, tzinfo=UTC), score=score, within=10, streams=("cec",),
                      channels=(Channel.of("mailto://x", "mailto://x"),), token_hash="")  # fmt: skip


@pytest.mark.parametrize(("crs", "verdict", "sent"), [(525, None, False), (505, "invited", True)])
def test_one_correction_a_day_unless_it_says_invited(crs: int, verdict: str | None, sent: bool) -> None:
    draw = parse_round(dict(DAY2[0], drawCRS=str(crs)))
    before = parse_round(dict(DAY2[0], drawCRS="515")).to_record()
    record = draw.to_record() | {"first_seen": "2026-01-21T00:00:00.000000Z", "revision": 2}
    subscriber = _subscriber(510)
    fresh = plan([], [(draw, record, before)], [subscriber], NOW)
    assert [(d.kind, d.verdict) for d in fresh] == [(CORRECTION, verdict)]
    capped = plan([], [(draw, record, before)], [subscriber], NOW, corrected={("392", "s1")})
    assert bool(capped) is sent


# --------------------------------------------------------------------------------- feed text


def test_a_huge_field_holds_the_round_with_a_short_reason() -> None:
    big = dict(DAY2[0], mitext="x" * 15_000_000)
    with pytest.raises(RoundError, match=f"field 'mitext' is 15,000,000 characters long \\(more than {MAX_FIELD:,}\\)"):
        parse_round(big)
    held = ParsePipeline(now=lambda: NOW).process_item(RawRound(0, dict(DAY2[0], drawNumber="392" * 100_000)))
    assert held.number is not None and len(held.number) <= 40 and len(held.reason) < 200
    assert parse_round(dict(DAY2[0], mitext="x" * MAX_FIELD)).number == "392"


def test_warnings_quote_feed_values_short() -> None:
    draw = parse_round(dict(DAY2[0], drawCutOff="9" * 4000, drawName="Z" * 4000))
    assert draw.warnings and all(len(w) < 400 for w in draw.warnings)
    assert "(4,000 characters)" in draw.warnings[0]


ESCAPES = ["\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07", "\x1b[2J\x1b[H", "\x1b]0;title\x1b\\", "\x9b31m", "\x9d52;c;aGk=\x07",
           "\x1bP+q\x1b\\", "\x07\x08\x7f", "\u202eevil", "a\tb\nc\rd"]  # fmt: skip


@pytest.mark.parametrize("text", ESCAPES)
def test_printable_drops_escape_sequences_and_controls(text: str) -> None:
    clean = printable(text)
    assert "\x1b" not in clean and not any(unicodedata.category(c) == "Cc" for c in clean) and "\u202e" not in clean
    assert "52;c" not in clean and "https://evil" not in clean and "31m" not in clean


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_property_printable_output_has_no_controls(text: str) -> None:
    clean = printable(text)
    assert not any(unicodedata.category(c) == "Cc" for c in clean)
    assert printable(clean) == clean


def test_shown_cuts_long_values() -> None:
    assert shown("abc") == "'abc'"
    assert len(shown("x" * 200_000)) < 250 and "200,000 characters" in shown("x" * 200_000)


def test_records_keep_the_feed_text_as_published() -> None:
    draw = parse_round(dict(DAY2[0], drawName="Canadian Experience Class\x1b[2J"))
    assert "\x1b" in draw.raw["drawName"]  # stored as published; cleaned where it is shown
    assert json.loads(json.dumps(replace(draw, warnings=()).to_record()))["raw"] == draw.raw


def test_corrections_today_are_counted_from_ottawas_midnight(tmp_path: Path) -> None:
    from crswatch.notifier.fanout import corrected_today
    from crswatch.notifier.outbox import Delivery, queue
    from crswatch.store.sql import Store

    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}").open()
    queued = datetime(2026, 1, 22, 4, 30, tzinfo=UTC)  # 23:30 in Ottawa on January 21
    try:
        with store.write() as conn:
            queue(conn, [Delivery(id=f"392/{kind}/s1", draw="392", revision=1, subscriber="s1", channel="c", masked="m", verdict="close",
                                  kind=kind, queued_at=queued, seq=0) for kind in (CORRECTION, "new")])  # fmt: skip
        with store.read() as conn:
            assert corrected_today(conn, {"392"}, queued + timedelta(minutes=20)) == {("392", "s1")}
            assert corrected_today(conn, {"391"}, queued) == set()
            assert corrected_today(conn, {"392"}, queued + timedelta(minutes=31)) == set()  # a new day in Ottawa
    finally:
        store.dispose()
