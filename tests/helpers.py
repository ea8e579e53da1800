"""Test helpers: the real snapshots, a local feed server, and the real CLI in a subprocess."""

from __future__ import annotations

import atexit
import functools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CRSWATCH_SHARED", ROOT.parent / "shared" / "ircc"))
#: The README and the guides in docs/ (not the generated reference), in a fixed order: the text
#: whose examples the tests replay.
DOCS_TEXT = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
SNAPSHOTS = sorted(SHARED.glob("ee_rounds_123_en.*.json"))  # file names sort by capture date


def snapshot(day: str) -> Path:
    """The shared snapshot captured on `day` (YYYY-MM-DD)."""
    (path,) = [p for p in SNAPSHOTS if p.name.startswith(f"ee_rounds_123_en.{day}")]
    return path


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class FeedServer:
    """A real HTTP server on 127.0.0.1 serving whatever `reply` says, honouring ETag/Last-Modified."""

    def __init__(self) -> None:
        self.reply = Reply()
        self.requests: list[dict[str, str]] = []
        self.fail_next = 0  # answer this many requests with HTTP 503 first
        self.delay = 0.0  # seconds to wait before answering (a slow server)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.requests.append(dict(self.headers))
                if server.delay:
                    time.sleep(server.delay)
                if server.fail_next > 0:
                    server.fail_next -= 1
                    return self._send(503, b"busy", {})
                reply = server.reply
                etag = reply.headers.get("ETag")
                modified = reply.headers.get("Last-Modified")
                if (etag and self.headers.get("If-None-Match") == etag) or (
                    modified and not etag and self.headers.get("If-Modified-Since") == modified
                ):
                    return self._send(304, b"", reply.headers)
                self._send(reply.status, reply.body, reply.headers)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/ee_rounds_123_en.json"

    def serve(self, body: bytes | Path, status: int = 200, **headers: str) -> None:
        if isinstance(body, Path):
            body = body.read_bytes()
        self.reply = Reply(body, status, {"Content-Type": "application/json", **headers})

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


FAST_CONFIG = """
[fetch]
timeout = 5
retries = 1
delay = 0.05

[alerts]
retry_base = 1
"""


#: Commands that start no reactor, no server and no signal handler: the tests run them in the test
#: process through click's CliRunner (a new interpreter per call cost about a second of imports).
#: `check`, `run`, `serve` and `bot` always get a real process, and so does every call when
#: CRSWATCH_TEST_SUBPROCESS=1, to run the whole suite the slow, literal way.
IN_PROCESS = frozenset(
    {
        "draws",
        "stats",
        "whatif",
        "pool",
        "chart",
        "forecast",
        "backtest",
        "crs",
        "streams",
        "subscribe",
        "subscribers",
        "update",
        "pause",
        "resume",
        "unsubscribe",
        "import",
        "deliveries",
        "config",
        "status",
        "db",
        "retry",
        "test-alert",
    }
)
_GLOBAL_VALUES = frozenset({"--db", "--store", "--config"})


def _command_of(args: tuple[str, ...]) -> str | None:
    """The command name in a crswatch argument list (global options and their values skipped)."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _GLOBAL_VALUES:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _in_process(args: tuple[str, ...], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import inspect
    import traceback

    from click.testing import CliRunner

    from crswatch.cli import main

    # click 8.2 keeps stderr apart by itself; 8.1 (the lowest allowed) must be asked to
    mixes = "mix_stderr" in inspect.signature(CliRunner.__init__).parameters
    runner = CliRunner(mix_stderr=False) if mixes else CliRunner()  # type: ignore[call-arg,unused-ignore]
    result = runner.invoke(main, list(args), env=env, prog_name="crswatch")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        code = 1  # what a real process does with an uncaught exception: a traceback and exit 1
        stderr += "".join(traceback.format_exception(result.exception))
    else:
        code = result.exit_code
    return subprocess.CompletedProcess(["crswatch", *args], code, result.stdout, stderr)


def cli(*args: str, env: dict[str, str], timeout: float = 120, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the real `crswatch` command: in this process when it starts no reactor (see IN_PROCESS),
    else in a process of its own, forked from a server that has done the imports (`forkserver`: a
    reactor cannot restart in one process).  CRSWATCH_TEST_SUBPROCESS=1: a new interpreter each time."""
    if _command_of(args) in IN_PROCESS and not os.environ.get("CRSWATCH_TEST_SUBPROCESS"):
        result = _in_process(args, env)
    else:
        result = in_shell(list(args), {**os.environ, **env}, timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"crswatch {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def in_shell(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`crswatch ARGS` in a real process with exactly `env` (a user's shell: nothing of the test
    process's environment added), forked from the server (a new interpreter with CRSWATCH_TEST_SUBPROCESS=1)."""
    if os.environ.get("CRSWATCH_TEST_SUBPROCESS"):
        command = [sys.executable, "-m", "crswatch", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    result: subprocess.CompletedProcess[str] = _forks().run(list(args), dict(env), timeout)
    return result


def start(*args: str, env: dict[str, str], preexec: Callable[[], Any] | None = None) -> Any:
    """Start `crswatch ARGS` (`serve`, say) and return at once, with what a `subprocess.Popen` of
    it offers tests: `pid`, `poll`, `wait`, signals, `communicate` (text) and `stderr.read()`.
    Forked from the fork server; a new interpreter with CRSWATCH_TEST_SUBPROCESS=1 or when
    `preexec` must set the process up before it starts."""
    if os.environ.get("CRSWATCH_TEST_SUBPROCESS") or preexec is not None:
        return subprocess.Popen(
            [sys.executable, "-m", "crswatch", *args], env={**os.environ, **env},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec,
        )  # fmt: skip
    return _forks().spawn(list(args), {**os.environ, **env})


@functools.cache
def _forks() -> Any:
    from forkserver import ForkServer

    server = ForkServer()
    atexit.register(server.close)
    return server


def read_db(path: Path) -> dict[str, Any]:
    return json.loads(path.read_bytes()) if path.exists() else {}


def table(path: Path, name: str) -> list[dict[str, Any]]:
    return list(read_db(path).get(name, {}).values())


def store_of(env: dict[str, str]) -> Any:
    """The SQL store a CLI environment uses (its default SQLite file, unless CRSWATCH_STORE says)."""
    from crswatch.store.sql import Store
    from crswatch.store.url import default_url

    return Store(env.get("CRSWATCH_STORE") or default_url(Path(env["CRSWATCH_DB"])))


def stored_status(env: dict[str, str]) -> dict[str, Any]:
    """The last check's status as the store keeps it."""
    from crswatch.store import kv

    store = store_of(env)
    try:
        with store.read() as conn:
            return kv.get(conn, "status")
    finally:
        store.dispose()


def outbox(env: dict[str, str]) -> list[dict[str, Any]]:
    """Every delivery in the store's outbox, as `crswatch deliveries --format json` lists them."""
    result = cli("deliveries", "--format", "json", env=env, check=True)
    return json.loads(result.stdout)


def wait_until(condition: Callable[[], T], timeout: float = 60, what: str = "") -> T:
    """Wait until `condition()` is true and return its value; fail after `timeout` seconds.  The
    timeout is a cap for a loaded machine, not a timing: the wait ends as soon as the condition
    holds (no test waits a fixed time and then hopes the state it needs has come)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what or condition}")
        time.sleep(0.05)
    return value


def wait_for_retries(env: dict[str, str], timeout: float = 60) -> None:
    """Wait until every failed delivery in the outbox is due, by the `next_try` the outbox keeps:
    the next check then tries them all.  A retry's delay is real time (`retry_base`) in another
    process, so the test waits for the moment the store names, not for a guessed number of seconds."""
    tries = [datetime.fromisoformat(d["next_try"]) for d in outbox(env) if d["status"] == "failed"]
    assert tries, "no failed delivery waits for a retry"
    last = max(t if t.tzinfo else t.replace(tzinfo=UTC) for t in tries)
    assert last <= datetime.now(UTC) + timedelta(seconds=timeout), f"the next try ({last}) is too far to wait for"
    wait_until(lambda: datetime.now(UTC) > last, timeout, f"the failed deliveries' next try ({last})")
