"""Latency benchmark (issue: rough edges): from the feed changing to the first alert accepted.

`crswatch run` polls a local feed server (the real 2026-01-20 snapshot); at a random moment the
server starts answering the 2026-01-21 snapshot (draw #392), and a local SMTP server notes when it
accepts the first alert.  Printed per sample and as a median, for the schedule given.
Run: .venv/bin/python bench/latency.py --every 30s --samples 5
     .venv/bin/python bench/latency.py --samples 1            (the default schedule: 5m + jitter)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from helpers import FeedServer, cli, snapshot  # noqa: E402
from servers import SMTPSink  # noqa: E402


def sample(every: str | None) -> float:
    feed, smtp = FeedServer(), SMTPSink().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"CRSWATCH_DB": str(Path(tmp) / "crswatch.json"), "CRSWATCH_CONFIG": str(Path(tmp) / "none.toml"), "HOME": tmp}
            Path(tmp, "none.toml").write_text("")
            feed.serve(snapshot("2026-01-20"))
            cli("check", "--source", feed.url, env=env, check=True)
            cli("subscribe", "--score", "520", "--notify", smtp.url("bench@example.com"), env=env, check=True)
            args = ["run", "--window", "off", "--source", feed.url] + (["--every", every] if every else [])
            runner = subprocess.Popen([sys.executable, "-m", "crswatch", *args], env={**os.environ, **env},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            try:
                interval = {"s": 1, "m": 60}[every[-1]] * float(every[:-1]) if every else 300.0
                time.sleep(random.uniform(2, 2 + interval))  # the draw is published at any moment
                feed.serve(snapshot("2026-01-21"))
                changed = time.monotonic()
                while not smtp.messages:
                    time.sleep(0.05)
                return time.monotonic() - changed
            finally:
                runner.terminate()
                runner.wait(timeout=150)
    finally:
        feed.close()
        smtp.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--every", help="the run's interval (default: the default schedule, 5m and 15s jitter)")
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()
    results = []
    for i in range(args.samples):
        results.append(sample(args.every))
        print(f"sample {i + 1}: feed changed -> first alert accepted in {results[-1]:.1f} s")
    print(f"schedule {args.every or 'default (5m, jitter 15s)'}: median {statistics.median(results):.1f} s, "
          f"max {max(results):.1f} s over {len(results)} samples")


if __name__ == "__main__":
    main()
