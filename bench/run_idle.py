"""Idle `crswatch run` benchmark (issue: schedule).

One `run` process-equivalent (the real Runner, reactor and APScheduler) polls a local HTTP server
that answers 304 (conditional GET): prints the CPU time of an idle tick and the RSS after the
first cycle and after 200.  Targets: idle tick <= 50 ms CPU; RSS growth over 200 cycles <= 10 MB.
Run: .venv/bin/python bench/run_idle.py [--cycles 200]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from helpers import FeedServer, snapshot  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=200)
    args = parser.parse_args()
    from crswatch.config import Config, Fetch
    from crswatch.runner import Runner
    from crswatch.schedule import Plan
    from crswatch.scraper.crawl import run_reactor
    from crswatch.store.draws import Database
    from crswatch.store.sql import Store

    logging.basicConfig(level=logging.WARNING)
    feed = FeedServer()
    feed.serve(snapshot("2026-01-21"), ETag='"idle"')
    cpu: list[float] = []
    rss: dict[int, float] = {}

    class Measured(Runner):
        async def tick(self) -> None:
            start = time.process_time()
            await super().tick()
            cpu.append(time.process_time() - start)
            rss[self.cycles] = rss_mb()

    with tempfile.TemporaryDirectory() as tmp:
        config = Config(db=Path(tmp) / "crswatch.json", source=feed.url, fetch=Fetch(timeout=5, retries=1, delay=0.0))
        store = Store(config.store_url).open()
        runner = Measured(config, Database(config.db), store, Plan(every=0.02, outside_every=0.02, window=None))
        run_reactor(lambda: runner.serve(max_cycles=args.cycles + 1))
        store.dispose()
    feed.close()
    idle = cpu[2:]  # cycle 1 ingests the feed, cycle 2 warms up
    print(f"{len(cpu)} cycles; feed answered 304 after the first ({len(feed.requests)} requests)")
    print(
        f"idle tick CPU: median {statistics.median(idle) * 1000:.1f} ms, p95 {sorted(idle)[int(len(idle) * 0.95)] * 1000:.1f} ms (target <= 50 ms)"
    )
    print(f"RSS after cycle 1: {rss[1]:.1f} MB; after cycle {args.cycles + 1}: {rss[args.cycles + 1]:.1f} MB; "
          f"growth {rss[args.cycles + 1] - rss[2]:+.1f} MB from cycle 2 (target <= 10 MB)")  # fmt: skip


if __name__ == "__main__":
    main()
