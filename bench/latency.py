"""Latency benchmark: from the feed changing to the first alert accepted, and the feed requests a day.

Two parts, both with crswatch's real code:

1. **The cycle**, measured end to end: `crswatch run --every 1s --window off` polls a local feed
   server (the real 2026-01-20 snapshot); at a random moment the server starts answering the
   2026-01-21 snapshot (draw #392), and a local SMTP server notes when it accepts the first alert.
   With a 1 s interval, this is what one check costs from a change to an accepted alert.
2. **The wait for the next check**, from the default schedule's own trigger (`trigger_for`, the
   same object `run` hands to APScheduler, jitter included) over a simulated week in Toronto time:
   a draw published at a random moment inside the publication window (weekdays 09:00-19:00
   Toronto) waits for the trigger's next fire.  The same week gives the feed requests per day.

In-window latency = wait + a measured cycle (each simulated publication draws one of the measured
cycles at random).  `--real N` also runs N samples of `crswatch run` on the default schedule as it
is (each takes up to a minute), to check the model against the real thing.

Run: .venv/bin/python bench/latency.py                 (5 cycles measured, 20,000 simulated publications)
     .venv/bin/python bench/latency.py --real 3
"""

from __future__ import annotations

import argparse
import bisect
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from helpers import FeedServer, cli, snapshot  # noqa: E402
from servers import SMTPSink  # noqa: E402

TARGET_P95 = 75.0  # seconds, inside the publication window
MAX_REQUESTS = 1000  # a day


def sample(args: list[str], publish_after: float) -> float:
    """One real `crswatch run`: seconds from the feed's change to the first alert accepted."""
    feed, smtp = FeedServer(), SMTPSink().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                "CRSWATCH_DB": str(Path(tmp) / "crswatch.json"),
                "CRSWATCH_CONFIG": str(Path(tmp) / "none.toml"),
                "HOME": tmp,
            }
            Path(tmp, "none.toml").write_text("")
            feed.serve(snapshot("2026-01-20"), ETag='"before"')
            cli("check", "--source", feed.url, env=env, check=True)
            cli("subscribe", "--score", "520", "--notify", smtp.url("bench@example.com"), env=env, check=True)
            runner = subprocess.Popen([sys.executable, "-m", "crswatch", "run", "--source", feed.url, *args], env={**os.environ, **env},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            try:
                time.sleep(publish_after)  # the draw is published at any moment
                feed.serve(snapshot("2026-01-21"), ETag='"after"')
                changed = time.monotonic()
                while not smtp.messages:
                    time.sleep(0.02)
                return time.monotonic() - changed
            finally:
                runner.terminate()
                runner.wait(timeout=150)
    finally:
        feed.close()
        smtp.stop()


def fires(start: datetime, end: datetime) -> list[datetime]:
    """The default schedule's fire times over [start, end), asked of its trigger as APScheduler does."""
    from crswatch.config import Schedule
    from crswatch.schedule import plan_of, trigger_for

    trigger = trigger_for(plan_of(Schedule()))
    found: list[datetime] = []
    now, previous = start, None
    while (fire := trigger.get_next_fire_time(previous, now)) < end:  # type: ignore[attr-defined]
        found.append(fire)
        previous = now = fire
    return found


def simulate(cycles: list[float], publications: int) -> tuple[list[float], dict[str, int]]:
    from crswatch.schedule import TORONTO

    monday = datetime(2026, 3, 2, tzinfo=TORONTO)  # a week with a daylight-saving change (Sunday 8 March)
    week = fires(monday.astimezone(UTC), (monday + timedelta(days=8)).astimezone(UTC))
    per_day: dict[str, int] = {}
    for fire in week:
        day = fire.astimezone(TORONTO).date()
        if day < (monday + timedelta(days=7)).date():
            per_day[day.strftime("%a %d")] = per_day.get(day.strftime("%a %d"), 0) + 1
    rng = random.Random(26)
    latencies = []
    for _ in range(publications):  # uniformly inside 09:00-19:00 of a random weekday
        day = monday + timedelta(days=rng.randrange(5))
        published = (day.replace(hour=9) + timedelta(seconds=rng.uniform(0, 10 * 3600))).astimezone(UTC)
        next_check = week[bisect.bisect_right(week, published)]
        latencies.append((next_check - published).total_seconds() + rng.choice(cycles))
    return latencies, per_day


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=5, help="real cycles to measure with --every 1s (default 5)")
    parser.add_argument("--publications", type=int, default=20000, help="simulated publications inside the window")
    parser.add_argument(
        "--real", type=int, default=0, help="also run N real samples on the default schedule (up to a minute each)"
    )
    args = parser.parse_args()
    cycles = []
    for i in range(args.cycles):
        cycles.append(sample(["--every", "1s", "--window", "off", "--jitter", "0"], random.uniform(2, 3)))
        print(f"cycle {i + 1}: feed changed -> first alert accepted in {cycles[-1]:.2f} s (polling every 1 s)")
    latencies, per_day = simulate(cycles, args.publications)
    p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    print(f"default schedule, in window (weekdays 09:00-19:00 Toronto), {len(latencies):,} simulated publications: "
          f"p50 {p50:.1f} s, p95 {p95:.1f} s, max {max(latencies):.1f} s (target p95 <= {TARGET_P95:g} s)")  # fmt: skip
    print("feed requests per day (simulated week): " + ", ".join(f"{day} {n}" for day, n in per_day.items())
          + f"; at most {max(per_day.values())} (limit {MAX_REQUESTS})")  # fmt: skip
    for i in range(args.real):
        real = sample(["--window", "off"], random.uniform(2, 62))  # the default interval and jitter, whatever the hour
        print(f"real sample {i + 1} on the default schedule: {real:.1f} s")
    if p95 > TARGET_P95 or max(per_day.values()) > MAX_REQUESTS:
        sys.exit(1)


if __name__ == "__main__":
    main()
