"""History and forecast commands benchmark (issues: history, forecast).

On a database holding the full 2026-01-21 history (393 draws), prints the wall time of each
history command beside the time of a bare `python -c pass` and of `crswatch --help` (process
start with crswatch's own imports).  Targets: each answers within 300 ms of `crswatch --help`; a chart file (matplotlib) within 1.5 s of process start.
Run: .venv/bin/python bench/history.py [--repeat 5]
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import snapshot  # noqa: E402

COMMANDS = {
    "stats": ["stats"],
    "whatif": ["whatif", "--score", "510", "--stream", "cec", "--since", "2025-01-01"],
    "pool": ["pool", "--score", "505"],
    "chart (terminal)": ["chart", "--since", "2024-01-01"],
    "chart -o png": ["chart", "--stream", "cec", "--stream", "pnp", "--score", "505", "-o", "{tmp}/c.png"],
    "chart -o svg": ["chart", "--score", "505", "-o", "{tmp}/c.svg"],
    "chart -o png (all)": ["chart", "--score", "505", "-o", "{tmp}/all.png"],
    "draws": ["draws"],
    "forecast": ["forecast", "--score", "505", "--draws", "3"],
    "backtest": ["backtest"],
}


def wall(cmd: list[str], env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CRSWATCH_DB": f"{tmp}/db.json", "CRSWATCH_CONFIG": f"{tmp}/none.toml"}
        Path(env["CRSWATCH_CONFIG"]).write_text("")
        crswatch = [sys.executable, "-m", "crswatch"]
        subprocess.run(
            [*crswatch, "check", "--source", snapshot("2026-01-21").as_uri()],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        bare = wall([sys.executable, "-c", "pass"], env, args.repeat)
        start = wall([*crswatch, "--help"], env, args.repeat)
        print(f"median of {args.repeat}: python start {bare * 1000:.0f} ms; `crswatch --help` {start * 1000:.0f} ms")
        print(f"{'command':20}{'wall (ms)':>10}{'beyond crswatch --help (ms)':>30}")
        for name, argv in COMMANDS.items():
            took = wall([*crswatch, *[a.format(tmp=tmp) for a in argv]], env, args.repeat)
            print(f"{name:20}{took * 1000:>10.0f}{(took - start) * 1000:>30.0f}")
    print(
        "targets: history commands <= 300 ms beyond `crswatch --help`; a chart file <= 1.5 s from process start; forecast and backtest <= 2 s"
    )


if __name__ == "__main__":
    main()
