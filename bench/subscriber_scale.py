"""Subscriber-scale benchmark (issue: subscribers).

Builds N subscribers (default 100,000) through the same code path as `crswatch import`, then
times the real CLI, on an empty database and on the full one:
  - one `subscribe`, one `update`, and a full `subscribers` listing (wall time and max RSS).
Target: subscribe/update at 100,000 at most 20 ms slower than on an empty store (SQLite).
Run: .venv/bin/python bench/subscriber_scale.py [--count 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _measure import run_measured

from crswatch.app import App
from crswatch.notifier.channels import check_url
from crswatch.store.sql import Store
from crswatch.store.url import default_url
from crswatch.subscribers.importing import import_csv


def build(db: Path, count: int) -> float:
    lines = ["name,score,within,streams,profile_created,channels"]
    lines += [
        f"user{i},{400 + i % 200},10,cec fsw,2025-06-01T12:00:00Z,mailto://127.0.0.1:2525?from=crswatch@example.com&to=user{i}@example.com"
        for i in range(count)
    ]
    start = time.perf_counter()
    store = Store(default_url(db))
    with store.write() as conn:
        import_csv(conn, "\n".join(lines) + "\n", check=check_url, defaults=App(None, None, 0).subscriber_defaults)
    store.dispose()
    return time.perf_counter() - start


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    wall, rss, out = run_measured([sys.executable, "-m", "crswatch", *args], env)
    return wall, rss, out.strip().splitlines()[0] if out.strip() else ""


def measure(db: Path, label: str, repeat: int) -> dict[str, tuple[float, float]]:
    env = {**os.environ, "CRSWATCH_DB": str(db), "CRSWATCH_CONFIG": str(db.with_suffix(".toml"))}
    db.with_suffix(".toml").write_text("")
    results: dict[str, list[tuple[float, float]]] = {"subscribe": [], "update": [], "subscribers (full listing)": []}
    for i in range(repeat):
        wall, rss, sub_id = run(
            [
                "subscribe",
                "--score",
                "500",
                "--notify",
                f"mailto://127.0.0.1:2525?from=a@example.com&to={label}{i}@example.com",
            ],
            env,
        )
        results["subscribe"].append((wall, rss))
        results["update"].append(run(["update", sub_id, "--score", "505"], env)[:2])
        results["subscribers (full listing)"].append(run(["subscribers", "--format", "csv"], env)[:2])
    return {k: (sorted(v)[len(v) // 2][0], max(r for _, r in v)) for k, v in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        empty = measure(Path(tmp) / "empty.json", "e", args.repeat)
        full_db = Path(tmp) / "full.json"
        built = build(full_db, args.count)
        size = sum(p.stat().st_size for p in full_db.parent.glob("full.*") if p.is_file())
        print(
            f"built {args.count:,} subscribers through the import code path in {built:.1f} s ({size / 1e6:.1f} MB on disk)"
        )
        full = measure(full_db, "f", args.repeat)
    print(f"median of {args.repeat} runs        empty DB (s)  {args.count:,} (s)   extra (ms)  max RSS empty/full (MB)")
    for name in empty:
        (e, er), (f, fr) = empty[name], full[name]
        print(f"{name:30}{e:>12.3f}{f:>14.3f}{(f - e) * 1000:>12.0f}      {er:6.1f} / {fr:6.1f}")
    print("target: subscribe and update at most 20 ms slower at 100,000 than on an empty store")


if __name__ == "__main__":
    main()
