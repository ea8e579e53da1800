"""Forecasts: hand-computed numbers on a small synthetic history, no look-ahead, the real backtest."""

from __future__ import annotations

import json
import math
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers import cli, snapshot

from crswatch.history.features import count_at_or_above, covariates, pool_feature, size_feature
from crswatch.history.forecast import (
    METHODS,
    adjusted,
    backtest,
    errors_before,
    ewm,
    ewm_levels,
    forecast,
    invited_probability,  # fmt: skip
    last,
    mean5,
    quantile,
    walk_forward,
)

CUTOFFS = [500, 510, 490, 500, 520]


def test_methods_by_hand() -> None:
    assert last(CUTOFFS) == 520
    assert mean5(CUTOFFS) == 504
    # 500 → .4·510+.6·500 = 504 → .4·490+.6·504 = 498.4 → .4·500+.6·498.4 = 499.04 → .4·520+.6·499.04 = 507.424
    assert ewm(CUTOFFS) == pytest.approx(507.424)
    assert quantile([1, 2, 3, 4, 5], 0.1) == pytest.approx(1.4)
    assert invited_probability(500, [-10, 0, 10, 20], 505) == 0.5


@pytest.mark.parametrize("score", [0, 300, 505, 509, 1200])
def test_a_probability_is_never_certain(score: int) -> None:
    from crswatch.history.forecast import invited_probability

    p = invited_probability(505.0, [-10.0, -5.0, 0.0, 5.0, 10.0], score)
    assert 0 < p < 1


def test_forecast_on_a_synthetic_history() -> None:
    cutoffs = [500, 510, 490, 500, 520, 505, 495, 515]
    dates = [date(2025, 1, 1) + timedelta(days=14 * i) for i in range(len(cutoffs))]
    # walk-forward errors of `last`: 505-520, 495-505, 515-495 = -15, -10, +20 (MAE 15);
    # of ewm: 505-507.424, 495-506.4544, 515-501.87264 = -2.424, -11.4544, +13.12736 (MAE 9.0): ewm ships
    assert [round(e, 3) for e in errors_before(cutoffs, last)] == [-15, -10, 20]
    assert [round(e, 3) for e in errors_before(cutoffs, ewm)] == [-2.424, -11.454, 13.127]
    result = forecast("cec", dates, cutoffs, score=510, draws=2)
    assert result.method == "ewm"
    point = 0.4 * 515 + 0.6 * 501.87264  # 507.123584
    assert result.next_crs == pytest.approx(point)
    assert result.next_date == date(2025, 4, 23)  # the last draw + the median gap of 14 days
    spread = (520 - 490) / 2  # fewer than 5 past errors: half the range either side
    assert (result.low, result.high) == pytest.approx((point - spread, point + spread))
    # three past errors are too few for a probability: none is given (never a 0 or a 1 from a handful)
    assert result.p_invited is None
    longer = cutoffs + [505, 500, 512, 498]
    many = forecast(
        "cec", [date(2025, 1, 1) + timedelta(days=14 * i) for i in range(len(longer))], longer, score=510, draws=2
    )
    errors = errors_before(longer, ewm if many.method == "ewm" else last)
    hits = sum(1 for e in errors if many.next_crs + e <= 510)
    p_one = (hits + 0.5) / (len(errors) + 1)  # the interval's own errors, smoothed
    assert many.p_invited == pytest.approx(1 - (1 - p_one) ** 2)
    short = forecast("cec", dates[:7], cutoffs[:7])
    assert short.method == "last" and short.next_crs == 495  # too short a history: the baseline


def test_walk_forward_never_looks_ahead() -> None:
    cutoffs = [500 + (i * 37) % 41 for i in range(40)]
    for name, method in METHODS.items():
        before = walk_forward(cutoffs, method)
        for cut in (10, 20, 30):
            leaked = cutoffs[:cut] + [9999] * (len(cutoffs) - cut)  # wildly different future
            after = walk_forward(leaked, method)
            assert [f for i, f in after if i <= cut] == [f for i, f in before if i <= cut], name
    dates = [date(2020, 1, 1) + timedelta(days=10 * i) for i in range(40)]
    whole = backtest("cec", dates, cutoffs)
    changed = backtest("cec", dates, cutoffs[:-1] + [9999])
    assert whole is not None and changed is not None
    assert whole.mae["last"] != changed.mae["last"]  # the last draw is a target…
    assert forecast("cec", dates[:39], cutoffs[:39]) == forecast(
        "cec", dates[:39], (cutoffs[:-1] + [9999])[:39]
    )  # …never an input


def test_covariates_by_hand() -> None:
    # size: log of the previous draw's size against the mean log size up to it
    assert size_feature([100, 100, 400]) == pytest.approx(
        [None, 0, 0, math.log(400) - (2 * math.log(100) + math.log(400)) / 3]
    )
    assert count_at_or_above({"501-600": 10, "491-500": 100, "481-490": 50}, 496) == 10 + 100 * 5 / 10
    stream = [{"date": f"2025-0{m}-15", "crs": c} for m, c in ((2, 500), (4, 490), (6, 480))]
    pools = [
        {"date": f"2025-0{m}-01", "pool": {"501-600": n, "491-500": 0}} for m, n in ((1, 1000), (3, 3000), (5, 2000))
    ]
    # draw 0: no earlier cut-off; draw 1: pools of Jan→Mar at 500: +2 (thousand); draw 2: Mar→May at 490: −1; next: at 480, −1
    assert pool_feature(stream, stream + pools) == [None, 2.0, -1.0, -1.0]


def test_adjusted_fits_the_level_errors_on_the_covariate() -> None:
    cutoffs = [500 + (i * 37) % 41 for i in range(20)]
    levels = ewm_levels(cutoffs)
    assert levels[7] == pytest.approx(ewm(cutoffs[:7]))
    # the level's past errors are exactly twice the covariate, so the fit adds twice the next value
    feature = [None] * 5 + [(cutoffs[j] - levels[j]) / 2 for j in range(5, 20)] + [5.0]
    assert adjusted(cutoffs, feature) == pytest.approx(ewm(cutoffs) + 10)
    assert adjusted(cutoffs[:10], feature[:10] + [None]) == pytest.approx(
        ewm(cutoffs[:10])
    )  # unknown covariate: the level
    assert adjusted(cutoffs[:8], feature[:9]) == pytest.approx(ewm(cutoffs[:8]))  # fewer than 8 past errors: the level


def test_covariates_never_look_ahead() -> None:
    stream = [
        {"date": f"2025-{m:02}-10", "crs": 480 + m, "invitations": 1000 * m, "pool": {"501-600": 100 * m}}
        for m in range(1, 13)
    ]
    before = covariates(stream, stream)
    for cut in (3, 6, 9):
        leaked = stream[:cut] + [{**r, "crs": 9999, "invitations": 1, "pool": {"501-600": 10**7}} for r in stream[cut:]]
        after = covariates(leaked, leaked)
        for name in before:
            assert after[name][: cut + 1] == before[name][: cut + 1], name


@pytest.fixture
def filled(env: dict, db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    master = tmp_path_factory.getbasetemp() / "forecast.json"
    if not master.exists():
        cli("check", "--source", snapshot("2026-01-21").as_uri(), env={**env, "CRSWATCH_DB": str(master)}, check=True)
    shutil.copy(master, db_path)
    return env


def test_backtest_on_the_real_snapshot(filled: dict) -> None:
    out = cli(
        "backtest",
        "--stream",
        "cec",
        "--stream",
        "pnp",
        "--stream",
        "french",
        "--stream",
        "healthcare",
        env=filled,
        check=True,
    ).stdout
    assert out.splitlines()[0].split()[:4] == ["stream", "forecasts", "mae_method", "mae_last"]
    rows = {r["stream"]: r for r in json.loads(cli("backtest", "--format", "json", env=filled, check=True).stdout)}
    assert {"cec", "pnp", "french", "healthcare"} <= rows.keys()
    for row in rows.values():
        assert 0.5 <= row["coverage_80"] <= 1.0
        tried = {"ewm": row["mae_method"], "ewm+size": row["mae_size"], "ewm+pool": row["mae_pool"]}
        best = min(tried, key=tried.__getitem__)
        assert row["shipped"] == (best if tried[best] < row["mae_last"] else "last")


def test_forecast_json_has_the_documented_keys(filled: dict) -> None:
    rows = json.loads(
        cli(
            "forecast", "--stream", "cec", "--score", "505", "--draws", "3", "--format", "json", env=filled, check=True
        ).stdout
    )
    (cec,) = rows
    assert {"stream", "next_crs", "low", "high", "next_date", "p_invited"} <= cec.keys()
    assert cec["low"] <= cec["next_crs"] <= cec["high"] and 0 <= cec["p_invited"] <= 1
    table = cli("forecast", env=filled, check=True).stdout
    assert "An estimate, not a promise" in table
