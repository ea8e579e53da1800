"""`crswatch crs` benchmark (issue 25): the wall time of scoring a profile (the README's, with a
spouse and a French test added so that every section is computed) beside `crswatch --help` and a
bare `python -c pass`.  Target: `crswatch crs` within 300 ms of `crswatch --help`.
Run: .venv/bin/python bench/crs.py [--repeat 7]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CRSWATCH_DB": f"{tmp}/db.json", "CRSWATCH_CONFIG": f"{tmp}/none.toml"}
        Path(env["CRSWATCH_CONFIG"]).write_text("")
        Path(tmp, "profile.toml").write_text(PROFILE)
        crswatch = [sys.executable, "-m", "crswatch"]
        bare = wall([sys.executable, "-c", "pass"], env, args.repeat)
        help_ = wall([*crswatch, "--help"], env, args.repeat)
        print(f"median of {args.repeat}: python start {bare * 1000:.0f} ms; `crswatch --help` {help_ * 1000:.0f} ms")
        for name, extra in (("crs (table)", []), ("crs --format json", ["--format", "json"])):
            took = wall([*crswatch, "crs", "--profile", f"{tmp}/profile.toml", "--on", "2026-12-03", *extra], env, args.repeat)
            print(f"{name:20}{took * 1000:8.0f} ms  ({(took - help_) * 1000:+.0f} ms beyond --help; target ≤ +300 ms)")


if __name__ == "__main__":
    main()
