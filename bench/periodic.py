"""Pool alerts and digests planned for 100,000 subscribers (SQLite store), each in a fresh child
process so that its peak RSS is the planning's, not the test data's.

- pool: every subscriber asked for pool alerts and hears instantly; the January 19, 2026
  distribution is new: work out each score's standing, queue 100,000 deliveries;
- digest: every subscriber is on a weekly digest; the period holds draws #389-#392 and the new
  distribution: give each draw a verdict, queue 100,000 digests.

Planning is done by the database (`notifier.periodic_sql`: one payload per distinct score or
digest shape, one INSERT … SELECT); the Python planning, which profiles still take, is measured
beside it (read and plan only, nothing written) for comparison.

Targets: planning (read, plan and queue, one transaction) <= 2 s, peak RSS <= 250 MB.

    .venv/bin/python bench/periodic.py [--count 100000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from _measure import peak_rss_mb  # noqa: E402
from helpers import snapshot  # noqa: E402

if TYPE_CHECKING:
    from crswatch.draws.record import Draw

NOW = datetime(2026, 1, 24, 13, 30, tzinfo=UTC)  # Saturday 08:30 in Ottawa: the weekly period just ended


def build(url: str, count: int, cadence: str) -> None:
    """Subscribers through the import code path, scores spread over 300-749."""
    from crswatch.app import App
    from crswatch.notifier.channels import check_url
    from crswatch.store.sql import Store
    from crswatch.subscribers.importing import import_csv

    # margins and streams vary as real subscribers' do: 15,750 distinct digest shapes
    streams = ("cec", "cec pnp", "french", "cec french", "healthcare", "trades pnp", "pnp")
    lines = ["name,score,within,streams,profile_created,channels,cadence,pool_alerts"]
    lines += [
        f",{300 + i % 450},{(0, 5, 10, 20, 30)[i % 5]},{streams[i % 7]},,mailto://127.0.0.1:2525?from=crswatch@example.com&to=s{i}@example.com,{cadence},yes"
        for i in range(count)
    ]
    store = Store(url)
    with store.write() as conn:
        import_csv(conn, "\n".join(lines) + "\n", check=check_url, defaults=App(None, None, 0).subscriber_defaults,
                   now=NOW - timedelta(days=30))  # fmt: skip
    store.dispose()


def _draws() -> list[Draw]:
    from crswatch.scraper.parse import parse_feed, parse_round

    return [parse_round(r) for r in parse_feed(snapshot("2026-01-21").read_bytes())[:5]]  # #392 … #388


def measure(url: str, what: str) -> None:
    from crswatch.notifier.outbox import announce
    from crswatch.notifier.periodic import Period, new_distribution, plan_digests, plan_pool
    from crswatch.notifier.periodic_store import contents, plan_distribution, plan_period
    from crswatch.store.sql import Store
    from crswatch.subscribers.store import iter_recipients

    draws = _draws()
    records = [d.to_record() for d in draws]
    distribution = new_distribution(records, ["392", "391", "390", "389"])
    assert distribution is not None
    store = Store(url)
    if what == "digest":  # the period's draws and distribution, announced as the checks would have
        with store.write() as conn:
            seen = NOW - timedelta(days=3)
            announce(conn, [(d.number, 0, "new", seen, d.to_record()) for d in draws[:4]])
            plan_distribution(conn, distribution, NOW - timedelta(days=3), plan=False)
    base = peak_rss_mb()
    start = time.perf_counter()
    with store.write() as conn:
        if what == "pool":
            queued = plan_distribution(conn, distribution, NOW)
        else:
            period = Period("weekly", NOW - timedelta(days=7, minutes=30), NOW - timedelta(minutes=30))
            queued = plan_period(conn, period, [], NOW)
    elapsed = time.perf_counter() - start
    print(f"{what}: read, plan and queue {queued:,} deliveries in {elapsed:.2f} s (target <= 2 s); "
          f"peak RSS {peak_rss_mb():.0f} MB ({base:.0f} MB before planning; target <= 250 MB)")  # fmt: skip
    start = time.perf_counter()
    with store.read() as conn:  # read and plan only (nothing written): the pure planning's share
        if what == "pool":
            planned = sum(
                1 for _ in plan_pool(distribution, iter_recipients(conn, pool_alerts=True, cadence="instant"), NOW)
            )
        else:
            period = Period("weekly", NOW - timedelta(days=7, minutes=30), NOW - timedelta(minutes=30))
            planned = sum(
                1 for _ in plan_digests(period, contents(conn, period), iter_recipients(conn, cadence="weekly"), NOW)
            )
    print(f"{what}: Python planning (profiles' path): read and plan {planned:,} in {time.perf_counter() - start:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--measure", nargs=2, metavar=("URL", "WHAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    from crswatch.store.url import default_url

    for what, cadence in (("pool", "instant"), ("digest", "weekly")):
        with tempfile.TemporaryDirectory() as tmp:
            url = default_url(Path(tmp) / "crswatch.json")
            build(url, args.count, cadence)
            subprocess.run([sys.executable, __file__, "--measure", url, what], check=True)


if __name__ == "__main__":
    main()
