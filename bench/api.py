"""Open data benchmark (issue: French and open feeds).

Stores the full 2026-01-21 history (393 draws), starts `crswatch serve` (waitress, the production
server) and loads it with wrk (Debian's `wrk`, a second process on loopback): requests/s and
latency percentiles of `/api/draws`, `/api/draws?stream=cec&limit=20`, `/draws.atom` and a
conditional GET answered 304.  Target: >= 1,000 requests/s with p99 <= 50 ms for /api/draws and
/draws.atom (each answer is made once per data version, then served from memory).
Run: .venv/bin/python bench/api.py [--seconds 10] [--connections 8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _measure import free_port, summary, wrk  # noqa: E402  (the same wrk helpers as bench/web.py)


def main() -> None:
    from helpers import snapshot

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        db, config = Path(tmp) / "crswatch.json", Path(tmp) / "config.toml"
        config.write_text(
            '[alerts]\ncontact = "bench@example.com"\n\n[web]\nemail_channel = "mailto://127.0.0.1:25?from=crswatch@example.com&to={email}"\napi_limit = "100000000/minute"\n'
        )
        env = {**os.environ, "CRSWATCH_DB": str(db), "CRSWATCH_CONFIG": str(config)}
        subprocess.run(
            [sys.executable, "-m", "crswatch", "check", "--source", snapshot("2026-01-21").as_uri()],
            env=env,
            check=True,
            capture_output=True,
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "crswatch", "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    etag = requests.get(base + "/api/draws", timeout=5).headers["ETag"]
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            for path in ("/api/draws", "/api/draws?stream=cec&limit=20", "/draws.atom"):
                requests.get(base + path, timeout=5)  # the first answer is made; the rest are served
                print(
                    f"GET {path:<32} ({args.connections} connections, {args.seconds} s):  {summary(wrk(base + path, args.seconds, args.connections))}"
                )
            script = Path(tmp) / "conditional.lua"
            script.write_text(f'wrk.headers["If-None-Match"] = {etag!r}\n'.replace("'", '"'))
            out = wrk(base + "/api/draws", args.seconds, args.connections, script)
            print(
                f"GET /api/draws, If-None-Match (304)  ({args.connections} connections, {args.seconds} s):  {summary(out)}"
            )
        finally:
            server.terminate()
            server.wait()
    print("targets: /api/draws and /draws.atom >= 1,000 requests/s with p99 <= 50 ms")


if __name__ == "__main__":
    main()
