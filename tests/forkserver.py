"""Commands that need a process of their own (`check`, `run`, `serve`, `bot`: Scrapy's reactor
cannot restart in one process), without a fresh interpreter's imports each time.

One server process per test process imports crswatch and the libraries its commands load (Scrapy
and its components, Twisted, apprise, SQLAlchemy, Jinja2…: about a second and a half of every
`python -m crswatch check`) and installs no reactor; then, for each command, it forks a child that
becomes that command: its own pid, environment, working directory, reactor, stdout, stderr and exit
status, exactly as `python -m crswatch` would run it. Only the imports are shared (copy-on-write).

The protocol is one JSON line each way on the server's stdin and stdout: the client sends
{"args", "env", "cwd", "out", "err"}; the server answers {"pid"} at once and {"status"} when the
child has ended (a negative status: killed by that signal, as `subprocess` says it)."""

from __future__ import annotations

import importlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------- server


def _preload() -> None:
    """What `check`, `run`, `serve` and `bot` import, loaded once (no reactor is installed: each
    child installs its own, as a fresh process does)."""
    for name in ("crswatch.cli", "crswatch.cycle", "crswatch.app", "crswatch.upgrade", "crswatch.runner",
                 "crswatch.scraper.crawl", "crswatch.scraper.spiders.rounds", "crswatch.notifier.dispatch",
                 "crswatch.notifier.send", "crswatch.notifier.channels", "crswatch.notifier.letters",
                 "crswatch.store.sql", "crswatch.web.app", "crswatch.bot.run", "apprise", "scrapy.crawler",
                 "scrapy.settings", "scrapy.utils.defer", "scrapy.utils.reactor", "twisted.internet.asyncioreactor",
                 "apscheduler.schedulers.asyncio"):  # fmt: skip
        _quietly(name)
    from scrapy.settings import default_settings

    for value in vars(default_settings).values():
        paths = list(value.values()) + list(value.keys()) if isinstance(value, dict) else [value]
        for path in paths:
            if isinstance(path, str) and path.startswith("scrapy.") and path.count(".") >= 2:
                _quietly(path.rsplit(".", 1)[0])
    assert "twisted.internet.reactor" not in sys.modules, "a preloaded module installed a reactor"
    assert threading.active_count() == 1, "a preloaded module started a thread (a fork would lose it)"


def _quietly(name: str) -> None:
    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001 - not needed by crswatch (an optional Scrapy component): the child imports what it uses
        pass


def _child(request: dict[str, Any]) -> int:
    """Become `crswatch ARGS`; its exit status (the caller ends the child with `_exit`)."""
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        stdin = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for fd, target in ((stdin, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
            os.close(fd)
        if os.environ.get("COVERAGE_PROCESS_START"):  # scripts/map-lowest: this test's lines
            import coverage

            coverage.process_startup()
        sys.argv = [str(ROOT / "crswatch" / "__main__.py"), *request["args"]]
        from crswatch.cli import main

        try:
            main(args=request["args"], prog_name="crswatch")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - what a real process prints for an uncaught exception
        import traceback

        traceback.print_exc()
        code = 1
    return code


def _exit(code: int) -> None:
    """End the child without the half second of tearing down every module the server imported:
    what is no longer referenced is finalised (a SQLite connection closed checkpoints its WAL, as
    at a normal exit), logging is shut down (crswatch registers no exit handler of its own), the
    output is flushed.  What this skips, unlike a real exit: other atexit handlers and the wait for
    non-daemon threads (a thread left running would hang a real process, not this one).  The
    preloaded imports can also hide an import a fresh interpreter would miss:
    CRSWATCH_TEST_SUBPROCESS=1 runs every command the literal way."""
    import gc
    import logging

    try:
        gc.collect()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def serve() -> None:
    _preload()
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            _exit(_child(request))
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"status": os.waitstatus_to_exitcode(status)}), flush=True)


# ---------------------------------------------------------------------------------------- client


class ForkServer:
    """The client: one server for this test process, started on first use.  It runs one command
    at a time: `run` returns None while another thread's command holds it (the caller then starts
    a process the usual way, so commands a test runs at once still run at once)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.pending = b""  # what the server said beyond the last line read
        self.lock = threading.Lock()

    def _server(self) -> subprocess.Popen[bytes]:
        if self.process is None or self.process.poll() is not None:
            # (scripts/map-lowest: the server measures nothing itself; each child does, for its test)
            env = {key: value for key, value in os.environ.items() if key != "COVERAGE_PROCESS_START"}
            self.process = subprocess.Popen(
                [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env
            )
            self.pending = b""
        return self.process

    def run(self, args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str] | None:
        if not self.lock.acquire(blocking=False):
            return None
        try:
            return self._run(args, env, timeout)
        finally:
            self.lock.release()

    def _run(self, args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
        server = self._server()
        assert server.stdin is not None and server.stdout is not None
        with tempfile.TemporaryDirectory(prefix="crswatch-fork-") as folder:
            out, err = Path(folder) / "out", Path(folder) / "err"
            request = {"args": args, "env": env, "cwd": os.getcwd(), "out": str(out), "err": str(err)}
            server.stdin.write(json.dumps(request).encode() + b"\n")
            server.stdin.flush()
            pid = json.loads(self._line(60))["pid"]
            try:
                status = json.loads(self._line(timeout))["status"]
            except subprocess.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)
                self._line(60)
                raise subprocess.TimeoutExpired(["crswatch", *args], timeout) from None
            return subprocess.CompletedProcess(
                ["crswatch", *args], status, out.read_text(errors="replace"), err.read_text(errors="replace")
            )

    def _line(self, timeout: float) -> bytes:
        """The server's next line, read from its raw pipe (a buffered reader could hold the next
        line where `select` cannot see it)."""
        assert self.process is not None and self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.pending:
                if not selector.select(max(0.0, deadline - time.monotonic())):
                    raise subprocess.TimeoutExpired("crswatch", timeout)
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise RuntimeError("the fork server ended")
                self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line

    def close(self) -> None:
        if self.process is not None and self.process.stdin is not None:
            self.process.stdin.close()
            self.process.wait(timeout=30)


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    serve()
