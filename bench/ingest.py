"""Ingest benchmark (issue: scrape and store).

Serves the real 2026-01-21 snapshot from a local HTTP server and prints, each beside a bare
fetch + json.loads of the same feed in a fresh process:
  - a first full ingest (`crswatch check` on an empty database), wall time from process start,
  - an unchanged re-check (conditional GET → 304),
  - peak memory (max RSS) of each.
Run: .venv/bin/python bench/ingest.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _measure import run_measured  # noqa: E402
from helpers import FeedServer, snapshot  # noqa: E402

BARE = """
import json, urllib.request
json.loads(urllib.request.urlopen({url!r}).read())
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds from process start to exit, and the child's own peak RSS in MB."""
    wall, rss, _ = run_measured(cmd, env)
    return wall, rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    feed = FeedServer()
    feed.serve(snapshot("2026-01-21"), ETag='"bench"')
    rows: dict[str, list[tuple[float, float]]] = {
        "bare fetch + json.loads": [],
        "first full ingest": [],
        "unchanged re-check (304)": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            env = {**os.environ, "CRSWATCH_DB": f"{tmp}/db{i}.json", "CRSWATCH_CONFIG": f"{tmp}/none.toml"}
            Path(env["CRSWATCH_CONFIG"]).write_text("")
            check = [sys.executable, "-m", "crswatch", "check", "--source", feed.url]
            rows["bare fetch + json.loads"].append(timed([sys.executable, "-c", BARE.format(url=feed.url)], env))
            rows["first full ingest"].append(timed(check, env))
            rows["unchanged re-check (304)"].append(timed(check, env))
    feed.close()
    print(
        f"feed: {snapshot('2026-01-21').name} ({snapshot('2026-01-21').stat().st_size:,} bytes), median of {args.repeat} runs"
    )
    print(f"{'':28}{'wall (s)':>10}{'max RSS (MB)':>14}")
    for name, values in rows.items():
        wall = statistics.median(v[0] for v in values)
        rss = statistics.median(v[1] for v in values)
        print(f"{name:28}{wall:>10.3f}{rss:>14.1f}")
    bare = statistics.median(v[0] for v in rows["bare fetch + json.loads"])
    first = statistics.median(v[0] for v in rows["first full ingest"])
    print(f"first ingest above a bare fetch: {first - bare:.3f} s (target: first ingest <= 1 s from process start)")


if __name__ == "__main__":
    main()
