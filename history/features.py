"""The covariates a forecast may be adjusted by, from stored draw records (oldest first).

Each is one number per draw plus one for the next draw, known before that draw (None: unknown),
so a walk-forward fit never looks ahead:

- `ewm+size`: the stream's last invitations against its usual size (log ratio);
- `ewm+pool`: how many thousand candidates the latest published pool distribution gained at or
  above the stream's last cut-off, against the distribution before it.

Reading them out of the draw records (pool bands, sizes) is kept apart from the forecasting
arithmetic in `forecast.py`, which only sees the resulting sequences (its `Feature`)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from crswatch.draws.record import FINE_BANDS


def size_feature(invitations: Sequence[int]) -> list[float | None]:
    """For draw i (and the next one): log of the previous draw's size over the mean log size before it."""
    out: list[float | None] = [None]
    logs: list[float] = []
    for size in invitations:
        logs.append(math.log(max(size, 1)))
        out.append(logs[-1] - statistics.fmean(logs))
    return out


def count_at_or_above(pool: Mapping[str, int], score: float) -> float:
    """Candidates at or above `score` in a published distribution (linear within a band)."""
    total = 0.0
    for band in FINE_BANDS:
        low, high = (int(x) for x in band.split("-"))
        if low >= score:
            total += pool.get(band, 0)
        elif high >= score:
            total += pool.get(band, 0) * (high - score + 1) / (high - low + 1)
    return total


def pool_feature(stream: Sequence[Mapping[str, Any]], everything: Sequence[Mapping[str, Any]]) -> list[float | None]:
    """For draw i (and the next one): the change, in thousands, of candidates at or above the
    stream's previous cut-off between the last two distributions published before draw i."""
    published = sorted((r["date"], r["pool"]) for r in everything if r.get("pool"))
    days = [r["date"] for r in stream] + ["9999-12-31"]
    out: list[float | None] = [None]
    for i in range(1, len(days)):
        known = [pool for day, pool in published if day < days[i]][-2:]
        if len(known) < 2:
            out.append(None)
            continue
        reference = stream[i - 1]["crs"]
        out.append((count_at_or_above(known[1], reference) - count_at_or_above(known[0], reference)) / 1000)
    return out


def covariates(
    stream: Sequence[Mapping[str, Any]], everything: Sequence[Mapping[str, Any]]
) -> dict[str, list[float | None]]:
    """Both covariates for one stream's records (oldest first), from stored draw records."""
    return {"ewm+size": size_feature([r["invitations"] for r in stream]), "ewm+pool": pool_feature(stream, everything)}
