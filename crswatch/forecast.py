"""Forecast the next cut-off per stream, and backtest the forecasts honestly.

Everything here is pure Python over one stream's draws, oldest first:

- methods: `last` (the last cut-off), `mean5` (mean of the last 5) and `ewm` (an exponentially
  weighted level, alpha 0.4);
- the 80% interval is the forecast plus the 10th and 90th percentiles of the method's own past
  one-step errors on that stream (walk-forward, so only errors already observable);
- the next date is the last draw plus the median of the stream's last 10 gaps;
- P(invited within K draws) = 1 - (1 - p)^K, with p the share of past errors that would have put
  the cut-off at or below the score (draws assumed independent: a rough estimate, said so).

`ewm` ships on a stream only when its backtest beats `last` there; otherwise the forecast is the
last cut-off, and the output says which.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

MIN_HISTORY = 5  # draws a stream needs before it is forecast at all
ALPHA = 0.4
Method = Callable[[Sequence[int]], float]


def last(cutoffs: Sequence[int]) -> float:
    return float(cutoffs[-1])


def mean5(cutoffs: Sequence[int]) -> float:
    return statistics.mean(cutoffs[-5:])


def ewm(cutoffs: Sequence[int]) -> float:
    level = float(cutoffs[0])
    for value in cutoffs[1:]:
        level = ALPHA * value + (1 - ALPHA) * level
    return level


METHODS: dict[str, Method] = {"last": last, "mean5": mean5, "ewm": ewm}


def walk_forward(cutoffs: Sequence[int], method: Method) -> list[tuple[int, float]]:
    """(index, forecast) for every draw after MIN_HISTORY, each made from the draws before it only."""
    return [(i, method(cutoffs[:i])) for i in range(MIN_HISTORY, len(cutoffs))]


def errors_before(cutoffs: Sequence[int], method: Method) -> list[float]:
    """Actual minus forecast for each walk-forward step."""
    return [cutoffs[i] - f for i, f in walk_forward(cutoffs, method)]


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Forecast:
    stream: str
    method: str
    next_crs: float
    low: float
    high: float
    next_date: date | None
    draws_used: int
    p_invited: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "stream": self.stream,
            "next_crs": round(self.next_crs),
            "low": round(self.low),
            "high": round(self.high),
            "next_date": self.next_date.isoformat() if self.next_date else None,
            "method": self.method,
            "draws_used": self.draws_used,
        }
        if self.p_invited is not None:
            data["p_invited"] = round(self.p_invited, 3)
        return data


def choose_method(cutoffs: Sequence[int]) -> str:
    """`ewm` where its walk-forward MAE beats the last-cut-off baseline on this stream, else `last`."""
    if len(cutoffs) <= MIN_HISTORY + 2:
        return "last"
    mae = {name: statistics.mean(abs(e) for e in errors_before(cutoffs, METHODS[name])) for name in ("last", "ewm")}
    return "ewm" if mae["ewm"] < mae["last"] else "last"


def forecast(stream: str, dates: Sequence[date], cutoffs: Sequence[int], score: int | None = None, draws: int = 1) -> Forecast:
    """The next draw of one stream from its history (oldest first)."""
    name = choose_method(cutoffs)
    method = METHODS[name]
    point = method(cutoffs)
    errors = errors_before(cutoffs, method)
    if len(errors) >= 5:
        low, high = point + quantile(errors, 0.1), point + quantile(errors, 0.9)
    else:
        spread = (max(cutoffs) - min(cutoffs)) / 2
        low, high = point - spread, point + spread
    gaps = [(b - a).days for a, b in zip(dates, dates[1:], strict=False)][-10:]
    next_date = dates[-1] + timedelta(days=round(statistics.median(gaps))) if gaps else None
    p = None
    if score is not None:
        p_one = invited_probability(point, errors, score)
        p = 1 - (1 - p_one) ** max(1, draws)
    return Forecast(stream, name, point, low, high, next_date, len(cutoffs), p)


def invited_probability(point: float, errors: Sequence[float], score: int) -> float:
    """Share of past errors with which the cut-off would have been at or below `score`."""
    if not errors:
        return 1.0 if score >= point else 0.0
    return sum(1 for e in errors if point + e <= score) / len(errors)


@dataclass(frozen=True)
class Backtest:
    stream: str
    forecasts: int
    mae: dict[str, float]  # by method
    coverage: float  # share of actual cut-offs inside the shipped method's 80% interval
    brier: dict[int, float]  # by reference score, for the shipped method
    brier_last: dict[int, float]  # the same for the last-cut-off baseline
    shipped: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "forecasts": self.forecasts,
            "mae_method": round(self.mae["ewm"], 1),
            "mae_last": round(self.mae["last"], 1),
            "mae_mean5": round(self.mae["mean5"], 1),
            "coverage_80": round(self.coverage, 2),
            "brier_method": round(statistics.mean(self.brier.values()), 3) if self.brier else None,
            "brier_last": round(statistics.mean(self.brier_last.values()), 3) if self.brier_last else None,
            "reference_scores": " ".join(str(s) for s in self.brier),
            "shipped": self.shipped,
        }


def backtest(stream: str, dates: Sequence[date], cutoffs: Sequence[int], since: date | None = None) -> Backtest | None:
    """Walk forward: every draw (on or after `since`) forecast from the draws before it only."""
    targets = [i for i in range(MIN_HISTORY, len(cutoffs)) if since is None or dates[i] >= since]
    if len(targets) < 3:
        return None
    mae = {}
    for name, method in METHODS.items():
        mae[name] = statistics.mean(abs(cutoffs[i] - method(cutoffs[:i])) for i in targets)
    shipped = "ewm" if mae["ewm"] < mae["last"] else "last"
    references = sorted({round(quantile([cutoffs[i] for i in targets], q)) for q in (0.25, 0.5, 0.75)})
    inside, brier, brier_last = 0, {s: 0.0 for s in references}, {s: 0.0 for s in references}
    for i in targets:
        past = cutoffs[:i]
        result = forecast(stream, dates[:i], past)
        inside += result.low <= cutoffs[i] <= result.high
        errors = errors_before(past, METHODS[result.method])
        last_errors = errors_before(past, last)
        for score in references:
            outcome = 1.0 if score >= cutoffs[i] else 0.0
            brier[score] += (invited_probability(result.next_crs, errors, score) - outcome) ** 2
            brier_last[score] += (invited_probability(float(past[-1]), last_errors, score) - outcome) ** 2
    n = len(targets)
    return Backtest(stream, n, mae, inside / n, {s: v / n for s, v in brier.items()}, {s: v / n for s, v in brier_last.items()}, shipped)
