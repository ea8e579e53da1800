"""Subscription page benchmark (issue: web subscription page).

Builds 100,000 subscribers, starts `crswatch serve` (waitress, the production server) and loads it
with wrk (Debian's `wrk`, a second process on loopback):
  - GET / : requests/s and latency percentiles (target p99 <= 100 ms);
  - POST / : sign-ups/s, each a real sign-up with its own address and a valid CSRF token, stored
    pending and a confirmation e-mail queued to a local SMTP sink (target >= 200/s).
Run: .venv/bin/python bench/web.py [--count 100000] [--seconds 10] [--connections 8]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from _measure import free_port, summary, wrk
from fanout import sink

POST_SCRIPT = r"""
counter = 0
request = function()
  counter = counter + 1
  local body = "csrf_token=" .. token .. "&email=bench" .. math.random(1, 1000000000) .. "x" .. counter .. "%40example.com&score=505&within=10&streams=cec"
  return wrk.format("POST", "/", {["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = cookie}, body)
end
"""


def build(db: Path, count: int, smtp_port: int) -> float:
    from crswatch.app import App
    from crswatch.store.sql import Store
    from crswatch.store.url import default_url
    from crswatch.subscribers.importing import import_csv

    lines = ["name,score,within,streams,profile_created,channels"]
    lines += [
        f",{400 + i % 200},10,cec,,mailto://127.0.0.1:{smtp_port}?from=crswatch@example.com&to=s{i}@example.com"
        for i in range(count)
    ]
    start = time.perf_counter()
    store = Store(default_url(db)).open()  # the SQL store beside the draws file, as `serve` opens it
    with store.write() as conn:  # the import path, with a trivial URL check (apprise's parse is not measured here)
        import_csv(
            conn,
            "\n".join(lines) + "\n",
            check=lambda url: "mailto://…",
            defaults=App(None, None, 0).subscriber_defaults,
        )
    store.dispose()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    smtp_port, web_port = free_port(), free_port()
    counter, ready = multiprocessing.Value("i", 0), multiprocessing.Event()
    multiprocessing.Process(target=sink, args=(smtp_port, counter, ready), daemon=True).start()
    ready.wait()
    with tempfile.TemporaryDirectory() as tmp:
        db, config = Path(tmp) / "db.json", Path(tmp) / "config.toml"
        print(f"built {args.count:,} subscribers in {build(db, args.count, smtp_port):.1f} s")
        config.write_text(
            '[alerts]\ncontact = "bench@example.com"\n\n'  # serve needs a way out for subscribers
            f'[web]\nemail_channel = "mailto://127.0.0.1:{smtp_port}?from=crswatch@example.com&to={{email}}"\n'
            'client_limit = "100000000/minute"\ndestination_limit = "100/day"\n'
        )
        env = {**os.environ, "CRSWATCH_DB": str(db), "CRSWATCH_CONFIG": str(config)}
        server = subprocess.Popen(
            [sys.executable, "-m", "crswatch", "serve", "--port", str(web_port)], env=env, stderr=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{web_port}"
        try:
            for _ in range(100):
                try:
                    session = requests.Session()
                    page = session.get(base + "/", timeout=5).text
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
            print(
                f"GET /   ({args.connections} connections, {args.seconds} s):  {summary(wrk(base + '/', args.seconds, args.connections))}"
            )
            script = Path(tmp) / "post.lua"
            script.write_text(f'token = "{token}"\ncookie = "{cookie}"\n' + POST_SCRIPT)
            before = counter.value
            if os.environ.get("PROFILE"):
                subprocess.Popen(["py-spy", "record", "-p", str(server.pid), "-d", str(args.seconds), "-f", "raw", "-o", os.environ["PROFILE"], "-r", "50"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            posts = wrk(base + "/", args.seconds, args.connections, script)
            print(f"POST /  ({args.connections} connections, {args.seconds} s):  {summary(posts)}")
            time.sleep(2)
            print(f"confirmation e-mails accepted by the SMTP sink meanwhile (+2 s): {counter.value - before:,}")
        finally:
            server.terminate()
            server.wait()
    print("targets: GET / p99 <= 100 ms; >= 200 sign-up POSTs/s at 100,000 subscribers")


if __name__ == "__main__":
    main()
