"""Draw history: the questions candidates ask, computed from the stored draw records.

Pure functions over plain draw records (as stored) so that every command — stats, whatif, pool,
chart — filters the same way.  The what-if verdicts come from `draws.match`, the same code
that decides alerts.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from crswatch.draws.match import Verdict, verdict
from crswatch.draws.record import FINE_BANDS

TREND_DRAWS = 5


def oldest_first(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    from crswatch.draws.record import draw_order

    return sorted(records, key=draw_order)


def stats(records: Iterable[dict[str, Any]], trend_draws: int = TREND_DRAWS) -> list[dict[str, Any]]:
    """One row per stream: never an average across streams."""
    by_stream: dict[str, list[dict[str, Any]]] = {}
    for record in oldest_first(records):
        by_stream.setdefault(record["stream"], []).append(record)
    rows = []
    for stream, draws in sorted(by_stream.items(), key=lambda item: -len(item[1])):
        cutoffs = [d["crs"] for d in draws]
        days = [date.fromisoformat(d["date"]) for d in draws]
        gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
        slope = trend(cutoffs[-trend_draws:])
        last = draws[-1]
        rows.append(
            {
                "stream": stream,
                "draws": len(draws),
                "last_date": last["date"],
                "last_crs": last["crs"],
                "last_invitations": last["invitations"],
                "min_crs": min(cutoffs),
                "median_crs": _number(statistics.median(cutoffs)),
                "max_crs": max(cutoffs),
                "invitations": sum(d["invitations"] for d in draws),
                "avg_gap_days": round(statistics.mean(gaps), 1) if gaps else None,
                "trend_per_draw": slope,
                "trend": describe_trend(slope, min(trend_draws, len(cutoffs))),
            }
        )
    return rows


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def trend(values: Sequence[float]) -> float | None:
    """Least-squares slope in points per draw (None with fewer than two draws)."""
    if len(values) < 2:
        return None
    n = len(values)
    mean_x, mean_y = (n - 1) / 2, statistics.mean(values)
    num = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(values))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return round(num / den, 1)


def describe_trend(slope: float | None, draws: int) -> str:
    if slope is None:
        return "not enough draws"
    if abs(slope) < 1:
        return f"flat over the last {draws} draws"
    direction = "rising" if slope > 0 else "falling"
    return f"{direction} {abs(slope):g} points per draw over the last {draws}"


@dataclass(frozen=True)
class WhatIf:
    rows: list[dict[str, Any]]
    summary: str


def whatif(records: Iterable[dict[str, Any]], *, score: int | None = None, streams: Sequence[str], within: int,
           profile_created: datetime | None, since: date | None = None,
           score_on: Callable[[date], int | None] | None = None) -> WhatIf:  # fmt: skip
    """The verdict each past open draw would have given, oldest first, and a one-line summary.
    With `score_on` (a profile's score on a day; None where no grid applies), each draw is judged
    on the score of its own date, and each row says which score that was."""
    rows = []
    unscored = 0
    for record in oldest_first(records):
        tie = datetime.fromisoformat(record["tie_break"]) if record.get("tie_break") else None
        candidate = score_on(date.fromisoformat(record["date"])) if score_on else score
        if candidate is None:
            unscored += 1
            continue
        result = verdict(stream=record["stream"], crs=record["crs"], tie_break=tie, score=candidate,
                         within=1200, streams=streams, profile_created=profile_created)  # fmt: skip
        if result is None:
            continue  # not open to this candidate
        gap = record["crs"] - candidate
        label = {
            Verdict.INVITED: "invited",
            Verdict.AT_CUTOFF: "at the cut-off",
            Verdict.JUST_MISSED: "just missed",
        }.get(result)
        if label is None:
            label = f"close by {gap}" if gap <= within else f"below by {gap}"
        rows.append({"number": record["number"], "date": record["date"], "stream": record["stream"],
                     "program": record["program"], "crs": record["crs"], **({"score": candidate} if score_on else {}), "verdict": label})  # fmt: skip
    invited = [r for r in rows if r["verdict"] == "invited"]
    close = [
        r for r in rows if r["verdict"] in ("at the cut-off", "just missed") or r["verdict"].startswith("close by")
    ]
    period = f" since {since.isoformat()}" if since else ""
    summary = f"invited in {len(invited)} of {len(rows)} draws{period}, close (within {within} points or at the cut-off) in {len(close)}"
    if invited:
        last = invited[-1]
        summary += f"; last invited on {last['date']} (#{last['number']} {last['program']}, cut-off {last['crs']})"
    if close:
        nearest = close[-1]
        summary += f"; last close miss on {nearest['date']} (#{nearest['number']}, cut-off {nearest['crs']}: {nearest['verdict']})"
    if unscored:
        summary += f"; {unscored} earlier draws left out: the profile cannot be scored before the oldest CRS grid crswatch knows"
    return WhatIf(rows, summary)


def pool_rows(
    record: dict[str, Any], previous: dict[str, Any] | None, score: int | None
) -> tuple[list[dict[str, Any]], str]:
    """The bands of a draw's published distribution, and with `score` how many were at or above it."""
    pool = record.get("pool") or {}
    before = (previous or {}).get("pool") or {}
    rows = [
        {"band": band, "candidates": count, "change": count - before[band] if band in before else None}
        for band, count in pool.items()
    ]
    if score is None:
        return rows, ""
    band = next(b for b in FINE_BANDS if int(b.split("-")[0]) <= score)
    floor = int(band.split("-")[0])
    above = [b for b in FINE_BANDS if int(b.split("-")[0]) >= floor]
    count = sum(pool[b] for b in above)
    line = f"{count:,} candidates at or above the {band} band (score {score}) as of {record.get('pool_as_of')}"
    if before and previous:
        earlier = sum(before[b] for b in above)
        line += f"; {count - earlier:+,} since {previous.get('pool_as_of')} (draw #{previous['number']})"
    return rows, line


def sparkline(values: Sequence[float], scale: tuple[float, float] | None = None) -> str:
    bars = "▁▂▃▄▅▆▇█"
    low, high = scale or (min(values), max(values))
    span = (high - low) or 1
    return "".join(bars[int((v - low) / span * (len(bars) - 1))] for v in values)
