"""Forecast the next cut-off per stream, and backtest the forecasts honestly.

Everything here is pure Python over one stream's draws, oldest first:

- methods: `last` (the last cut-off), `mean5` (mean of the last 5) and `ewm` (an exponentially
  weighted level, alpha 0.4);
- the 80% interval is the forecast plus the 10th and 90th percentiles of the method's own past
  one-step errors on that stream (walk-forward, so only errors already observable);
- the next date is the last draw plus the median of the stream's last 10 gaps;
- P(invited within K draws) = 1 - (1 - p)^K, with p from the same past errors as the interval: the
  share that would have put the cut-off at or below the score, smoothed ((k + ½) / (n + 1)) so that
  a handful of draws never claims certainty.  With fewer than MIN_ERRORS past errors there is no
  probability at all (draws assumed independent: a rough estimate, said so).

Two covariates are tried against the plain level, each a least-squares fit of the level's past
errors on one number known before the draw (`adjusted`):

- `ewm+size`: the stream's last invitations against its usual size (log ratio): a big last draw
  may have drained the pool above the cut-off;
- `ewm+pool`: how many thousand candidates the latest published pool distribution gained at or
  above the stream's last cut-off, against the distribution before it.

The covariates themselves are read from the draw records by `features.py`.  A method ships on a
stream only when its walk-forward error beats `last` there (the best of `ewm`, `ewm+size` and
`ewm+pool`); otherwise the forecast is the last cut-off, and the output says which.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

MIN_HISTORY = 5  # draws a stream needs before it is forecast at all
MIN_ERRORS = 5  # past one-step errors needed for an interval from errors and for a probability
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
MIN_FIT = 8  # past errors a covariate fit needs; with fewer, `adjusted` is the plain ewm level
#: One value per draw plus one for the next draw, each known before that draw (None: unknown).
Feature = Sequence[float | None]


def ewm_levels(cutoffs: Sequence[int]) -> list[float]:
    """levels[i] == ewm(cutoffs[:i]) for every i >= 1 (levels[0] is unused), in one pass."""
    levels = [math.nan, float(cutoffs[0])] if cutoffs else [math.nan]
    for value in cutoffs[1:]:
        levels.append(ALPHA * value + (1 - ALPHA) * levels[-1])
    return levels


def adjusted(cutoffs: Sequence[int], feature: Feature) -> float:
    """The ewm level plus a least-squares line of its past errors against the covariate."""
    levels = ewm_levels(cutoffs)
    now = len(cutoffs)
    pairs = [(feature[j], cutoffs[j] - levels[j]) for j in range(MIN_HISTORY, now) if feature[j] is not None]
    if len(pairs) < MIN_FIT or now >= len(feature) or feature[now] is None:
        return levels[now]
    xs, ys = zip(*pairs, strict=True)
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread if spread else 0.0
    return levels[now] + my + slope * (feature[now] - mx)  # type: ignore[operator]


def candidates(features: Mapping[str, Feature] | None) -> dict[str, Method]:
    """The methods that may ship: ewm, and ewm adjusted by each covariate given."""
    methods: dict[str, Method] = {"ewm": ewm}
    for name, feature in (features or {}).items():
        methods[name] = partial(adjusted, feature=feature)
    return methods


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
    score: int | None = None  # with a profile: its projected score on the first forecast draw's date

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
        if self.score is not None:
            data["score"] = self.score
        if self.p_invited is not None:  # shown to 3 places, so never as a certain 0 or 1
            data["p_invited"] = min(0.999, max(0.001, round(self.p_invited, 3)))
        return data


def choose_method(cutoffs: Sequence[int], methods: Mapping[str, Method] | None = None) -> str:
    """The candidate with the lowest walk-forward MAE, where it beats the last cut-off; else `last`."""
    if len(cutoffs) <= MIN_HISTORY + 2:
        return "last"
    mae = {
        name: statistics.mean(abs(e) for e in errors_before(cutoffs, method))
        for name, method in {"last": last, **(methods or {"ewm": ewm})}.items()
    }
    best = min((name for name in mae if name != "last"), key=mae.__getitem__)
    return best if mae[best] < mae["last"] else "last"


def forecast(stream: str, dates: Sequence[date], cutoffs: Sequence[int], score: int | None = None, draws: int = 1,
             features: Mapping[str, Feature] | None = None, score_on: Callable[[date], int] | None = None,
             earliest: date | None = None) -> Forecast:  # fmt: skip
    """The next draw of one stream from its history (oldest first); `features` as from `covariates`.

    `score_on` (a profile's projected score on a day) instead of `score`: each of the next `draws`
    draws, expected a median gap apart from `next_date`, is judged on the score of its own date, so
    a birthday or an expiring test between them counts.  An overdue stream's next draw can come only
    from `earliest` (today) on: its draws are counted from there."""
    methods = {"last": last, **candidates(features)}
    name = choose_method(cutoffs, methods)
    method = methods[name]
    point = method(cutoffs)
    errors = errors_before(cutoffs, method)
    if len(errors) >= MIN_ERRORS:
        low, high = point + quantile(errors, 0.1), point + quantile(errors, 0.9)
    else:
        spread = (max(cutoffs) - min(cutoffs)) / 2
        low, high = point - spread, point + spread
    gaps = [(b - a).days for a, b in zip(dates, dates[1:], strict=False)][-10:]
    next_date = dates[-1] + timedelta(days=round(statistics.median(gaps))) if gaps else None
    p = None
    if score_on is not None:
        step = timedelta(days=round(statistics.median(gaps))) if gaps else timedelta(0)
        first = max(next_date or dates[-1], earliest or date.min)
        projected = [score_on(first + k * step) for k in range(max(1, draws))]
        if len(errors) >= MIN_ERRORS:
            p = 1 - math.prod(1 - invited_probability(point, errors, s) for s in projected)
        return Forecast(stream, name, point, low, high, next_date, len(cutoffs), p, projected[0])
    if score is not None and len(errors) >= MIN_ERRORS:  # too little history: no number at all
        p_one = invited_probability(point, errors, score)
        p = 1 - (1 - p_one) ** max(1, draws)
    return Forecast(stream, name, point, low, high, next_date, len(cutoffs), p)


def invited_probability(point: float, errors: Sequence[float], score: int) -> float:
    """Share of past errors with which the cut-off would have been at or below `score`, smoothed:
    (k + ½) / (n + 1) is never 0 or 1, however few the errors (and near k / n with many)."""
    hits = sum(1 for e in errors if point + e <= score)
    return (hits + 0.5) / (len(errors) + 1)


@dataclass(frozen=True)
class Backtest:
    stream: str
    forecasts: int
    mae: dict[str, float]  # by method (including the covariate methods tried)
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
            "mae_size": round(self.mae["ewm+size"], 1) if "ewm+size" in self.mae else None,
            "mae_pool": round(self.mae["ewm+pool"], 1) if "ewm+pool" in self.mae else None,
            "coverage_80": round(self.coverage, 2),
            "brier_method": round(statistics.mean(self.brier.values()), 3) if self.brier else None,
            "brier_last": round(statistics.mean(self.brier_last.values()), 3) if self.brier_last else None,
            "reference_scores": " ".join(str(s) for s in self.brier),
            "shipped": self.shipped,
        }


def backtest(stream: str, dates: Sequence[date], cutoffs: Sequence[int], since: date | None = None,
             features: Mapping[str, Feature] | None = None) -> Backtest | None:  # fmt: skip
    """Walk forward: every draw (on or after `since`) forecast from the draws before it only."""
    targets = [i for i in range(MIN_HISTORY, len(cutoffs)) if since is None or dates[i] >= since]
    if len(targets) < 3:
        return None
    mae = {}
    tried = {**METHODS, **candidates(features)}
    for name, method in tried.items():
        mae[name] = statistics.mean(abs(cutoffs[i] - method(cutoffs[:i])) for i in targets)
    best = min((name for name in tried if name not in ("last", "mean5")), key=mae.__getitem__)
    shipped = best if mae[best] < mae["last"] else "last"
    references = sorted({round(quantile([cutoffs[i] for i in targets], q)) for q in (0.25, 0.5, 0.75)})
    inside, brier, brier_last = 0, {s: 0.0 for s in references}, {s: 0.0 for s in references}
    for i in targets:
        past = cutoffs[:i]
        known = {name: feature[: i + 1] for name, feature in (features or {}).items()}
        result = forecast(stream, dates[:i], past, features=known)
        inside += result.low <= cutoffs[i] <= result.high
        errors = errors_before(past, {"last": last, **candidates(known)}[result.method])
        last_errors = errors_before(past, last)
        for score in references:
            outcome = 1.0 if score >= cutoffs[i] else 0.0
            brier[score] += (invited_probability(result.next_crs, errors, score) - outcome) ** 2
            brier_last[score] += (invited_probability(float(past[-1]), last_errors, score) - outcome) ** 2
    n = len(targets)
    return Backtest(
        stream,
        n,
        mae,
        inside / n,
        {s: v / n for s, v in brier.items()},
        {s: v / n for s, v in brier_last.items()},
        shipped,
    )
