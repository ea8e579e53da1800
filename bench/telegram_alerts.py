"""Telegram fan-out benchmark (issue 27): 10,000 Telegram subscribers, the real `crswatch check`
stores draw #392 and sends every alert through the outbox to the local Bot API stand-in
(tests/telegram_api.py) on 127.0.0.1.

Prints the send rate, the most messages the stand-in received in any one second (never above
`--rate`), and the total time beside the rate limit's minimum ((count - 1) / rate); target: within
10% of it.  Run: .venv/bin/python bench/telegram_alerts.py [--count 10000] [--rate 30]
(at Telegram's 30 a second, 10,000 alerts take at least 5 min 33 s.)
"""

from __future__ import annotations

import argparse
import bisect
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from helpers import FAST_CONFIG, snapshot  # noqa: E402
from telegram_api import TOKEN, TelegramAPI  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0, help="[telegram] rate: messages a second for the bot")
    args = parser.parse_args()
    here, there = multiprocessing.Pipe()
    server = multiprocessing.Process(
        target=_serve, args=(there,), daemon=True
    )  # its own process: its clock is not our GIL's
    server.start()
    url = here.recv()
    with tempfile.TemporaryDirectory() as folder:
        env = _env(Path(folder), url, args.rate)
        _check(env, "2026-01-20")  # the history before #392
        _subscribe(env, args.count)
        started = time.monotonic()
        _check(env, "2026-01-21")  # #392: every subscriber is invited
        wall = time.monotonic() - started
    here.send("stop")
    arrivals = sorted(here.recv())
    server.join()
    assert len(arrivals) == args.count, f"{len(arrivals)} of {args.count} alerts arrived"
    span = arrivals[-1] - arrivals[0]
    minimum = (args.count - 1) / args.rate
    busiest = max(bisect.bisect_left(arrivals, at + 1.0) - i for i, at in enumerate(arrivals))
    print(f"{args.count} Telegram alerts at rate {args.rate:g}/s: first to last {span:.1f} s (minimum {minimum:.1f} s: "
          f"{100 * (span / minimum - 1):+.1f}%), {args.count / span:.1f} msgs/s; busiest second: {busiest} messages; "
          f"`crswatch check` {wall:.1f} s from start to exit")  # fmt: skip
    gaps = sorted((b - a for a, b in zip(arrivals, arrivals[1:], strict=False)), reverse=True)
    print(
        f"gaps between arrivals: median {1000 * gaps[len(gaps) // 2]:.1f} ms, longest {', '.join(f'{1000 * g:.0f}' for g in gaps[:5])} ms"
    )


def _serve(pipe: Any) -> None:
    """The stand-in, in a process of its own; sends back when each sendMessage arrived (CLOCK_MONOTONIC)."""
    api = TelegramAPI()
    pipe.send(api.url)
    pipe.recv()
    pipe.send([call.at for call in api.sent()])
    api.close()


def _env(folder: Path, url: str, rate: float) -> dict[str, str]:
    config = folder / "config.toml"
    config.write_text(FAST_CONFIG + f'\n[telegram]\napi_url = "{url}"\nrate = {rate}\n')
    return {
        **os.environ,
        "CRSWATCH_DB": str(folder / "crswatch.json"),
        "CRSWATCH_CONFIG": str(config),
        "CRSWATCH_TELEGRAM_TOKEN": TOKEN,
    }


def _check(env: dict[str, str], day: str) -> None:
    subprocess.run([sys.executable, "-m", "crswatch", "check"], env={**env, "CRSWATCH_SOURCE": snapshot(day).as_uri()}, check=True,
                   capture_output=True)  # fmt: skip


def _subscribe(env: dict[str, str], count: int) -> None:
    """`count` Telegram subscribers at score 520, one chat each (the CSV import's one batch)."""
    from crswatch.notifier import telegram
    from crswatch.store.sql import Store
    from crswatch.store.url import default_url
    from crswatch.subscribers.importing import import_csv
    from crswatch.subscribers.manage import Defaults

    rows = "".join(f",520,,cec,,{telegram.channel(10_000_000 + n)}\n" for n in range(count))
    store = Store(default_url(Path(env["CRSWATCH_DB"])))
    with store.write() as conn:
        import_csv(
            conn,
            "name,score,within,streams,profile_created,channels\n" + rows,
            check=telegram.check,
            defaults=Defaults(10, ("cec",)),
        )
    store.dispose()


if __name__ == "__main__":
    main()
