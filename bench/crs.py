"""CRS benchmarks (issue 25).

1. `crswatch crs`: the wall time of scoring a profile (the README's, with a spouse and a French
   test added so that every section is computed) beside `crswatch --help` and a bare
   `python -c pass`.  Target: within 300 ms of `crswatch --help`.
2. Matching draw #392 against 100,000 subscribers of whom half have a profile (each one its own
   date of birth, so no two profiles are alike and nothing is scored from a cache), 1% matching:
   match + queue in a fresh process (bench/fanout.py's measurement).  Target: ≤ 1.5 s, ≤ 250 MB.
Run: .venv/bin/python bench/crs.py [--repeat 7] [--only cli|match] [--scale 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROFILE = """\
date_of_birth = 1995-04-14
education = "bachelors_or_three_year"
canadian_experience = [{ from = 2024-09-02 }]
foreign_experience_years = 3
canadian_education = "three_year_or_more"
first_language = { test = "ielts", test_date = 2026-01-10, reading = 7.5, writing = 7.0, listening = 8.5, speaking = 7.0 }
second_language = { test = "tef", test_date = 2026-02-01, reading = 470, writing = 480, listening = 470, speaking = 500 }
spouse = { education = "two_year", canadian_experience_years = 1, language = { test = "clb", reading = 7, writing = 7, listening = 7, speaking = 7 } }
"""


def wall(cmd: list[str], env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build(url: str, total: int) -> None:
    """`total` subscribers straight into the store: every other one with a profile.  1% match
    #392 (cut-off 509): typed 520, or a profile scoring 520 on 2026-01-21; the rest are far below."""
    from datetime import UTC, date, datetime, timedelta

    from crswatch.draws.crs import parse
    from crswatch.draws.crs.profile import dumps
    from crswatch.store.sql import Store
    from crswatch.subscribers.model import Channel, Subscriber
    from crswatch.subscribers.profile import ceiling_of
    from crswatch.subscribers.store import insert

    now = datetime(2026, 1, 1, tzinfo=UTC)
    low = {
        "education": "secondary",
        "first_language": {"test": "clb", "reading": 6, "writing": 6, "listening": 6, "speaking": 6},
    }
    # everyone with a profile is 45 or more (no age points, so one ceiling per kind whatever the birthday)
    high = {"education": "doctoral", "canadian_experience_years": 5, "foreign_experience_years": 3, "sibling_in_canada": True,
            "first_language": {"test": "clb", "reading": 10, "writing": 10, "listening": 10, "speaking": 10},
            "second_language": {"test": "nclc", "reading": 9, "writing": 9, "listening": 9, "speaking": 9}}  # fmt: skip
    ceilings: dict[bool, int] = {}
    people = []
    for i in range(total):
        matching = i % 100 == 0
        channel = Channel.of(
            f"mailto://127.0.0.1:2525?from=crswatch@example.com&to=s{i}@example.com",
            f"mailto://127.0.0.1:2525/s{i}%40example.com",
        )
        sub = Subscriber(id=f"b{i:07d}", score=520 if matching else 300 + i % 150, channels=(channel,), created_at=now,
                         token_hash="x", streams=("cec",))  # fmt: skip
        if i % 2 == 0 and not os.environ.get(
            "BENCH_TYPED_ONLY"
        ):  # BENCH_TYPED_ONLY=1: the same without profiles, to compare
            born = date(1950, 1, 1) + timedelta(days=i % 10000)  # each its own birthday, 45 or more on 2025-12-02
            stored = dumps(parse({**(high if matching else low), "date_of_birth": born.isoformat()}))
            if matching not in ceilings:
                ceilings[matching] = ceiling_of(stored, now)
            sub = Subscriber(
                **{
                    **{f: getattr(sub, f) for f in sub.__dataclass_fields__},
                    "profile": stored,
                    "profile_ceiling": ceilings[matching],
                }
            )
        people.append(sub)
    store = Store(url)
    with store.write() as conn:
        insert(conn, people)
    store.dispose()


def match(total: int) -> None:
    from crswatch.store.url import default_url

    with tempfile.TemporaryDirectory() as tmp:
        url = default_url(Path(tmp) / "crswatch.json")
        build(url, total)
        subprocess.run(
            [
                sys.executable,
                *(["-m", "cProfile", "-s", "tottime"] if os.environ.get("PROFILE") else []),
                str(Path(__file__).with_name("fanout.py")),
                "--measure",
                url,
                str(total),
            ],
            check=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--only", choices=("cli", "match"))
    args = parser.parse_args()
    if args.only != "cli":
        match(args.scale)
    if args.only == "match":
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CRSWATCH_DB": f"{tmp}/db.json", "CRSWATCH_CONFIG": f"{tmp}/none.toml"}
        Path(env["CRSWATCH_CONFIG"]).write_text("")
        Path(tmp, "profile.toml").write_text(PROFILE)
        crswatch = [sys.executable, "-m", "crswatch"]
        bare = wall([sys.executable, "-c", "pass"], env, args.repeat)
        help_ = wall([*crswatch, "--help"], env, args.repeat)
        print(f"median of {args.repeat}: python start {bare * 1000:.0f} ms; `crswatch --help` {help_ * 1000:.0f} ms")
        for name, extra in (("crs (table)", []), ("crs --format json", ["--format", "json"])):
            took = wall(
                [*crswatch, "crs", "--profile", f"{tmp}/profile.toml", "--on", "2026-12-03", *extra], env, args.repeat
            )
            print(f"{name:20}{took * 1000:8.0f} ms  ({(took - help_) * 1000:+.0f} ms beyond --help; target ≤ +300 ms)")


if __name__ == "__main__":
    main()
