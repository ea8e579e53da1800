"""The answers the command line and the API both give, as plain data (one home for their shape):
the draw list, one draw, the stream codes, the forecast.  `crswatch draws --format json` and
`GET /api/draws` print the same thing because both print this."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from crswatch.draws.table import Tables, find_draw, names_seen, query_draws, revisions_of

#: The keys of a draw in listings (the stored record has more: raw, pool, bookkeeping).
DRAW_KEYS = ("number", "date", "drawn_at", "program", "stream", "invitations", "crs", "tie_break",
             "url", "eligible_programs", "pool_as_of")  # fmt: skip


class NoAnswer(LookupError):
    """Nothing stored answers the question; the message says why."""


def draw_list(view: Tables, streams: Iterable[str] = (), since: date | None = None, until: date | None = None,
              limit: int | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Stored draws, newest first, each with DRAW_KEYS."""
    return [{key: row.get(key) for key in DRAW_KEYS} for row in query_draws(view, streams, since, until, limit)]


def draw_detail(view: Tables, number: str) -> dict[str, Any] | None:
    """Everything stored about one draw (pool distribution included) and its earlier versions."""
    record = find_draw(view, number)
    if record is None:
        return None
    return dict(record) | {"revisions": revisions_of(view, record["number"])}


def stream_list(view: Tables, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every stream code with its label, the draw names seen for it (counts, last date), and for
    `other` the numbers of the draws waiting there; then codes that left the configuration."""
    seen = names_seen(view)
    rows = []
    for code, label in labels.items():
        names = [n for n in seen if n["stream"] == code]
        rows.append({
            "code": code,
            "label": label,
            "draws": sum(n["draws"] for n in names),
            "last": max((n["last"] for n in names), default=None),
            "names": [{k: n[k] for k in ("name", "draws", "last")} | ({"numbers": n["numbers"]} if code == "other" else {}) for n in names],
        })  # fmt: skip
    for code in sorted({n["stream"] for n in seen} - set(labels)):
        names = [n for n in seen if n["stream"] == code]
        rows.append({"code": code, "label": "(no longer configured)", "draws": sum(n["draws"] for n in names),
                     "last": max(n["last"] for n in names), "names": [{k: n[k] for k in ("name", "draws", "last")} for n in names]})  # fmt: skip
    return rows


Series = dict[str, tuple[list[date], list[int], dict[str, Any]]]


def series(records: list[dict[str, Any]], streams: Iterable[str]) -> Series:
    """Per stream (every stream when none is named): dates, cut-offs and covariates, oldest first.
    `records` are every stored draw, oldest first (the covariates read all of them)."""
    from .features import covariates

    wanted = set(streams)
    by_stream: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if not wanted or record["stream"] in wanted:
            by_stream.setdefault(record["stream"], []).append(record)
    if not by_stream:
        raise NoAnswer("no stored draws match (run `crswatch check` first, or widen --stream)")
    return {
        stream: ([date.fromisoformat(r["date"]) for r in rows], [r["crs"] for r in rows], covariates(rows, records))
        for stream, rows in by_stream.items()
    }


def forecast_rows(records: list[dict[str, Any]], streams: Iterable[str], score: int | None, draws: int,
                  today: date, score_on: Callable[[date], int] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Each stream's forecast (all active streams when none is named), most history first.

    `records` are every stored draw, oldest first (the covariates read all of them).  A stream
    needs MIN_HISTORY draws, and without `streams` a draw in the last year; a next date already
    past is flagged `overdue`; with `score`, `p_invited` is None where the history is too short.
    `score_on` (a profile's score on a day) instead of `score`: each forecast draw is judged on the
    profile's projected score on its date (an overdue draw: today), given as `score`."""
    from .forecast import MIN_HISTORY
    from .forecast import forecast as compute

    streams = tuple(streams)
    found = series(records, streams)
    newest = max(dates[-1] for dates, _, _ in found.values())
    soonest = max(newest, today)
    result = []
    for stream, (dates, cutoffs, features) in found.items():
        active = streams or (newest - dates[-1]).days <= 365
        if len(cutoffs) >= MIN_HISTORY and active and stream != "other":
            result.append(compute(stream, dates, cutoffs, score, draws, features, score_on, soonest).to_dict())
    if not result:
        raise NoAnswer(f"no stream has the {MIN_HISTORY} draws a forecast needs")
    result.sort(key=lambda r: -r["draws_used"])
    today = max(newest, today)
    for row in result:  # a date already past is no forecast: the draw is overdue
        row["overdue"] = bool(row["next_date"] and row["next_date"] < today.isoformat())
        if (score is not None or score_on) and "p_invited" not in row:
            row["p_invited"] = None  # too little history for a number
    return result
