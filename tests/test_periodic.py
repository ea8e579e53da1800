"""Pool alerts and digests, the pure rules: which draw alert a digest subscriber still gets at once,
where a score stands in IRCC's bands (figures checked by hand on the real snapshots), which
distribution is new, which digest periods are due, and who gets a digest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import snapshot

from crswatch.draws.match import Verdict
from crswatch.notifier.periodic import (
    Contents,
    Period,
    due_periods,
    immediate,
    new_distribution,
    plan_digests,
    plan_pool,
)
from crswatch.notifier.standing import about, at_or_above, band_of, rank, standing
from crswatch.subscribers.model import Channel, Subscriber

I, A, J, C = Verdict.INVITED, Verdict.AT_CUTOFF, Verdict.JUST_MISSED, Verdict.CLOSE


@pytest.mark.parametrize(
    ("cadence", "said", "before", "now"),
    [
        ("instant", C, None, True),  # instant: everything at once, as before
        ("instant", J, None, True),
        ("daily", I, None, True),  # an invitation is never delayed
        ("weekly", I, None, True),
        ("weekly", A, None, True),  # at the cut-off may be an invitation: at once too
        ("weekly", J, None, False),  # the rest waits for the digest
        ("weekly", C, None, False),
        ("daily", C, None, False),
        ("weekly", C, I, True),  # a correction of an invitation they heard of at once: at once
        ("weekly", None, A, True),
        ("weekly", C, J, False),  # a correction between two verdicts that waited: in the digest
        ("weekly", I, C, True),
    ],
)
def test_what_a_digest_subscriber_still_gets_at_once(
    cadence: str, said: Verdict | None, before: Verdict | None, now: bool
) -> None:
    assert immediate(cadence, said, before) is now


def _pool(dd: list[int]) -> dict[str, int]:
    from crswatch.draws.record import POOL_BANDS

    return dict(zip(POOL_BANDS, dd, strict=True))


def _feed_pool(day: str, number: str) -> tuple[str, dict[str, int]]:
    """The distribution a real snapshot publishes with a draw, read straight from the JSON."""
    from crswatch.draws.record import POOL_BANDS

    rounds = json.loads(snapshot(day).read_text(encoding="utf-8-sig"))["rounds"]
    found = next(r for r in rounds if r["drawNumber"] == number)
    return found["drawDistributionAsOn"], {
        band: int(found[f"dd{i}"].replace(",", "")) for i, band in enumerate(POOL_BANDS, 1)
    }


# Checked by hand from the feed's dd1..dd18 (601-1200, 501-600, 491-500, 481-490 are dd1, dd2, dd4, dd5):
#   January 19, 2026 (#392):   677 + 16,341 + 13,278 + 12,942 = 43,238 at or above 481-490
#   January 4, 2026 (#390):    559 + 21,013 + 12,873 + 12,499 = 46,944
#   December 15, 2025 (#386):  390 + 21,792 + 12,315 + 12,149 = 46,646
#   July 6, 2025 (#355):       358 + 22,591 + 13,342 + 13,830 = 50,121
# Rank for 485 on January 19: 677 + 16,341 + 13,278 above the band, half of the band's 12,942
# (485 is halfway down 481-490: 490 - 485 = 5 of its 10 scores) = 6,471, plus one: 36,768.
HAND = [
    ("2026-01-21", "392", "2026-01-21", "390", 485, "481-490", 43238, 43238 - 46944, 36768),
    (
        "2025-12-17",
        "386",
        "2025-07-08.crlf",
        "355",
        485,
        "481-490",
        46646,
        46646 - 50121,
        390 + 21792 + 12315 + 6074 + 1,
    ),
    (
        "2026-01-21",
        "392",
        "2026-01-21",
        "390",
        505,
        "501-600",
        677 + 16341,
        677 + 16341 - 559 - 21013,
        677 + round(16341 * 95 / 100) + 1,
    ),
]


@pytest.mark.parametrize(
    ("day", "number", "before_day", "before", "score", "band", "count", "change", "exact_rank"), HAND
)
def test_a_scores_standing_matches_the_feeds_bands(day: str, number: str, before_day: str, before: str, score: int, band: str, count: int,
                                                   change: int, exact_rank: int) -> None:  # fmt: skip
    _, pool = _feed_pool(day, number)
    _, previous = _feed_pool(before_day, before)
    assert band_of(score) == band
    assert at_or_above(pool, band) == count
    assert rank(pool, score) == exact_rank
    found = standing(pool, previous, score)
    assert (found.band, found.count, found.change, found.rank) == (band, count, change, about(exact_rank))


@pytest.mark.parametrize(
    ("number", "shown"), [(7, 7), (999, 999), (36768, 36800), (16195, 16200), (1234, 1230), (237120, 237000)]
)
def test_a_rank_is_rounded_to_what_an_estimate_can_claim(number: int, shown: int) -> None:
    assert about(number) == shown


@pytest.mark.parametrize(("score", "band"), [(1200, "601-1200"), (601, "601-1200"), (600, "501-600"), (500, "491-500"), (451, "451-460"),
                                              (450, "441-450"), (401, "401-410"), (400, "351-400"), (300, "0-300"), (0, "0-300")])  # fmt: skip
def test_the_band_of_a_score_is_the_finest_that_holds_it(score: int, band: str) -> None:
    assert band_of(score) == band


def _record(number: str, day: str, as_of: str | None, total: int = 100) -> dict:
    return {"number": number, "date": day, "pool_as_of": as_of, "pool": _pool([1] * 17 + [total]) if as_of else None}


@pytest.mark.parametrize(
    ("stored", "new", "expected"),
    [
        (
            [("1", "2026-01-05", "2026-01-04")],
            [("2", "2026-01-07", "2026-01-04")],
            None,
        ),  # same week, same distribution
        ([("1", "2026-01-05", "2026-01-04")], [("2", "2026-01-20", "2026-01-19")], ("2026-01-19", "2026-01-04")),
        # after downtime, several at once: only the newest, against the one subscribers last heard of
        (
            [("1", "2025-12-17", "2025-12-14")],
            [("2", "2026-01-05", "2026-01-04"), ("3", "2026-01-20", "2026-01-19")],
            ("2026-01-19", "2025-12-14"),
        ),
        (
            [("1", "2025-12-15", "2025-12-15")],
            [("2", "2025-12-16", "2025-12-14")],
            None,
        ),  # an older date published later (#387): not new
        ([], [("1", "2026-01-20", "2026-01-19")], ("2026-01-19", None)),
        ([("1", "2026-01-05", "2026-01-04")], [("2", "2026-01-20", None)], None),  # no distribution published
    ],
)
def test_which_distribution_is_new(stored: list, new: list, expected: tuple | None) -> None:
    records = [_record(*r) for r in stored] + [_record(*r) for r in new]
    found = new_distribution(records, [n for n, _, _ in new])
    assert (found["as_of"], found["previous_as_of"]) == expected if expected else found is None


def test_a_distribution_of_zeros_is_none() -> None:
    records = [_record("1", "2015-01-31", "2015-01-30", total=0)]
    assert new_distribution(records, ["1"]) is None


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("cadence", "now", "last", "keys"),
    [
        (
            "daily",
            "2026-01-22T08:30-05:00",
            None,
            ["d2026-01-22"],
        ),  # the latest period that ended, only, the first time
        ("daily", "2026-01-22T07:59-05:00", None, ["d2026-01-21"]),
        ("daily", "2026-01-22T08:30-05:00", "d2026-01-22", []),  # planned already
        (
            "daily",
            "2026-01-25T09:00-05:00",
            "d2026-01-22",
            ["d2026-01-23", "d2026-01-24", "d2026-01-25"],
        ),  # missed while down: caught up
        ("weekly", "2026-01-24T08:00-05:00", None, ["w2026-01-24"]),  # Saturday 08:00 in Ottawa (the defaults)
        ("weekly", "2026-01-23T12:00-05:00", None, ["w2026-01-17"]),
        ("weekly", "2026-02-07T09:00-05:00", "w2026-01-24", ["w2026-01-31", "w2026-02-07"]),
        ("daily", "2026-03-08T08:00-04:00", "d2026-03-07", ["d2026-03-08"]),  # the day clocks spring forward: 23 hours
    ],
)
def test_which_digest_periods_are_due(cadence: str, now: str, last: str | None, keys: list[str]) -> None:
    assert [p.key for p in due_periods(cadence, _at(now), 8, "sat", last)] == keys


def test_a_period_runs_from_the_digest_hour_to_the_digest_hour_in_ottawa() -> None:
    (period,) = due_periods("daily", _at("2026-03-08T09:00-04:00"), 8, "sat", "d2026-03-07")
    assert (period.start, period.end) == (_at("2026-03-07T08:00-05:00"), _at("2026-03-08T08:00-04:00"))
    (week,) = due_periods("weekly", _at("2026-01-28T19:00-05:00"), 18, "wed", None)
    assert (week.start, week.end, week.key) == (
        _at("2026-01-21T18:00-05:00"),
        _at("2026-01-28T18:00-05:00"),
        "w2026-01-28",
    )


def _doc(id_: str, score: int, **more: Any) -> Subscriber:
    more.setdefault("created_at", _at("2026-01-01T00:00:00Z"))
    return Subscriber(
        id=id_, score=score, within=10, token_hash="", channels=(Channel(f"k{id_}", "mailto://…"),), **more
    )


def test_pool_alerts_go_to_instant_subscribers_who_asked() -> None:
    _, pool = _feed_pool("2026-01-21", "392")
    _, previous = _feed_pool("2026-01-21", "390")
    docs = [_doc("a", 485, pool_alerts=True), _doc("b", 485), _doc("c", 485, pool_alerts=True, cadence="weekly"),
            _doc("d", 485, pool_alerts=True, status="paused"), _doc("e", 485, pool_alerts=True, created_at=_at("2026-02-01T00:00:00.000000Z"))]  # fmt: skip
    planned = list(
        plan_pool(
            {"as_of": "2026-01-19", "pool": pool, "previous_pool": previous}, docs, _at("2026-01-21T12:00:00+00:00")
        )
    )
    assert [(d.id, d.kind, d.draw) for d in planned] == [("pool/2026-01-19/a/ka", "pool", "2026-01-19")]
    assert planned[0].payload == {
        "score": 485,
        "band": "481-490",
        "count": 43238,
        "change": -3706,
        "rank": 36800,
        "from_profile": False,
    }


def test_a_digest_lists_the_open_draws_with_a_verdict_each_or_is_not_sent() -> None:
    period = Period("weekly", _at("2026-01-17T08:00-05:00"), _at("2026-01-24T08:00-05:00"))
    draws = [{"number": "391", "date": "2026-01-20", "stream": "pnp", "crs": 746, "tie_break": None},
             {"number": "392", "date": "2026-01-21", "stream": "cec", "crs": 509, "tie_break": "2025-10-29T04:35:24Z"}]  # fmt: skip
    contents = Contents(draws, None, {"391": _at("2026-01-20T20:00:00Z"), "392": _at("2026-01-21T20:00:00Z")})
    docs = [_doc("in", 510, cadence="weekly"), _doc("close", 505, cadence="weekly"), _doc("far", 400, cadence="weekly"),
            _doc("fr", 460, cadence="weekly", streams=("french",)), _doc("day", 505, cadence="daily"), _doc("now", 505),
            _doc("late", 505, cadence="weekly", created_at=_at("2026-01-21T21:00:00.000000Z"))]  # fmt: skip
    planned = {d.subscriber: d.payload for d in plan_digests(period, contents, docs, period.end + timedelta(minutes=1))}
    assert planned == {
        "in": {"draws": [["392", "invited", 0, 510]], "others": 1, "pool": None},
        "close": {"draws": [["392", "close", 4, 505]], "others": 1, "pool": None},
        "far": {"draws": [["392", "below", 109, 400]], "others": 1, "pool": None},
    }  # "fr": nothing open to them and no new distribution: nothing to say; "late": subscribed after both draws


def test_a_new_distribution_alone_is_something_to_say() -> None:
    period = Period("daily", _at("2026-01-20T08:00-05:00"), _at("2026-01-21T08:00-05:00"))
    _, pool = _feed_pool("2026-01-21", "392")
    _, previous = _feed_pool("2026-01-21", "390")
    contents = Contents(
        [], {"as_of": "2026-01-19", "pool": pool, "previous_as_of": "2026-01-04", "previous_pool": previous}
    )
    (digest,) = plan_digests(period, contents, [_doc("fr", 460, cadence="daily", streams=("french",))], period.end)
    assert digest.id == "digest/d2026-01-21/fr/kfr" and digest.payload["draws"] == []
    assert digest.payload["pool"]["band"] == "451-460"


def test_planning_in_the_store_is_once_across_hosts_on_each_engine(store_url: str) -> None:
    """A distribution and a digest period are announced once (a second host, or a rerun, plans
    nothing); the deliveries carry what the message says; the first check's history is nobody's news."""
    from crswatch.config import Config
    from crswatch.notifier.channels import check_url
    from crswatch.notifier.outbox import announce, listing
    from crswatch.notifier.periodic_store import HISTORY, plan_distribution, plan_period
    from crswatch.store import kv
    from crswatch.store.sql import Store
    from crswatch.subscribers import manage

    defaults = manage.Defaults(10, ("cec",))
    store = Store(store_url).open()
    try:
        with store.write() as conn:
            for n, (score, cadence, pool) in enumerate(
                [(485, "instant", True), (505, "weekly", False), (505, "daily", True), (400, "instant", False)]
            ):
                manage.subscribe(conn, score=score, channels=[f"json://127.0.0.1:9/{n}"], check=check_url, defaults=defaults, cadence=cadence,
                                 pool_alerts=pool, now=_at("2026-01-01T00:00:00+00:00"))  # fmt: skip
            history = _at("2026-01-02T00:00:00Z")
            kv.put(conn, HISTORY, {"first_seen": "2026-01-02T00:00:00.000000Z"})  # as the first check writes it
            announce(conn, [("390", 0, "new", history, {"number": "390", "date": "2026-01-07", "stream": "cec", "program": "CEC", "crs": 511,
                                                        "invitations": 8000})])  # fmt: skip
            seen = _at("2026-01-21T20:00:00Z")
            announce(conn, [("392", 0, "new", seen, {"number": "392", "date": "2026-01-21", "stream": "cec", "program": "Canadian Experience Class",
                                                     "crs": 509, "invitations": 6000, "tie_break": "2025-10-29T04:35:24Z"})])  # fmt: skip
        _, pool = _feed_pool("2026-01-21", "392")
        _, previous = _feed_pool("2026-01-21", "390")
        distribution = {
            "as_of": "2026-01-19",
            "pool": pool,
            "draw": "391",
            "previous_as_of": "2026-01-04",
            "previous_pool": previous,
        }
        with store.write() as conn:
            assert (
                plan_distribution(conn, distribution, _at("2026-01-20T21:00:00+00:00")) == 1
            )  # the instant subscriber who asked
        with store.write() as conn:
            assert (
                plan_distribution(conn, distribution, _at("2026-01-20T21:05:00+00:00")) == 0
            )  # another host: announced already
        (period,) = due_periods("weekly", _at("2026-01-24T09:00:00-05:00"), Config().alerts.digest_hour, "sat", None)
        with store.write() as conn:
            assert plan_period(conn, period, [{"stream": "cec", "next_crs": 509, "low": 494, "high": 535, "next_date": "2026-02-08",
                                               "overdue": False}], _at("2026-01-24T14:00:00+00:00")) == 1  # fmt: skip
        with store.write() as conn:
            assert plan_period(conn, period, [], _at("2026-01-24T14:05:00+00:00")) == 0
        with store.read() as conn:
            queued = {d.kind: d for d in listing(conn)}
        assert queued["pool"].payload == {
            "score": 485,
            "band": "481-490",
            "count": 43238,
            "change": -3706,
            "rank": 36800,
            "from_profile": False,
        }
        # #390 was stored by the first check: not in anyone's digest; the new distribution (announced at 21:00 on the 20th) is
        assert queued["digest"].payload == {"draws": [["392", "close", 4, 505]], "others": 0,
                                            "pool": {"score": 505, "band": "501-600", "count": 17018, "change": 17018 - 21572, "rank": 16200}}  # fmt: skip
    finally:
        store.dispose()
