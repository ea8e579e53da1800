"""Commands that need a process of their own (`check`, `run`, `serve`, `bot`: Scrapy's reactor
cannot restart in one process), without a fresh interpreter's imports each time.

One server process per test process imports crswatch and the libraries its commands load (Scrapy
and its components, Twisted, apprise, SQLAlchemy, Jinja2…: about a second and a half of every
`python -m crswatch check`) and installs no reactor; then, for each command, it forks a child that
becomes that command: its own pid, environment, working directory, reactor, stdout, stderr and exit
status, exactly as `python -m crswatch` would run it. Only the imports are shared (copy-on-write).

Several commands may run at once (a `serve` a test keeps up while it runs `check`s): the protocol is
JSON lines on the server's stdin and stdout; the client sends {"id", "args", "env", "cwd", "out",
"err"}; the server answers {"id", "pid"} at once and {"id", "status"} when that child has ended (a
negative status: killed by that signal, as `subprocess` says it). The server watches its children
through pidfds, in one thread: a fork copies only the thread that calls it, so a second thread
holding a lock (stdout's) at that moment would leave the child unable to print."""

from __future__ import annotations

import gc
import importlib
import json
import os
import pkgutil
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
                 "apscheduler.schedulers.asyncio",
                 # what a first `check` loads late: the schema's migration, the SQL dialects, the parsers
                 "alembic.command", "alembic.config", "alembic.runtime.migration", "alembic.script", "mako.template",
                 "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql", "psycopg", "bs4", "statistics"):  # fmt: skip
        _quietly(name)
    import crswatch

    for module in pkgutil.walk_packages(crswatch.__path__, "crswatch."):  # every module crswatch may run
        if not module.name.startswith("crswatch.store.migrations.") and module.name != "crswatch.__main__":
            _quietly(module.name)
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
    # What the server has loaded is never collected: frozen, a child's collections skip it, and do
    # not touch (so copy) each page of it (measured: a `check` child's CPU 0.28 s -> 0.16 s).
    gc.freeze()
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    pending, reading = b"", True
    while reading or len(selector.get_map()) > 1:
        for key, _ in selector.select():
            if key.data is not None:  # a child has ended
                request_id, pid = key.data
                _, status = os.waitpid(pid, 0)
                selector.unregister(key.fd)
                os.close(key.fd)
                _say({"id": request_id, "status": os.waitstatus_to_exitcode(status)})
                continue
            chunk = os.read(0, 65536)
            if not chunk:  # the client has gone: so do the children it left
                reading = False
                selector.unregister(0)
                for child in list(selector.get_map().values()):
                    os.kill(child.data[1], signal.SIGKILL)
                continue
            pending += chunk
            while b"\n" in pending:
                line, _, pending = pending.partition(b"\n")
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    for child in selector.get_map().values():
                        if child.fd:
                            os.close(child.fd)
                    selector.close()
                    _exit(_child(request))
                selector.register(os.pidfd_open(pid), selectors.EVENT_READ, (request["id"], pid))
                _say({"id": request["id"], "pid": pid})


def _say(answer: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------- client


class Forked:
    """A command forked by the server, with what tests use of a `subprocess.Popen`: its pid,
    `poll`, `wait`, signals, and its output (`communicate`, `stderr.read()`) once it has ended."""

    def __init__(self, args: list[str], folder: tempfile.TemporaryDirectory[str]) -> None:
        self.args = args
        self.folder = folder
        self.out, self.err = Path(folder.name) / "out", Path(folder.name) / "err"
        self.stderr = _Output(self.err)
        self.returncode: int | None = None
        self.started, self.ended = threading.Event(), threading.Event()
        self.pid = 0
        self.lost = ""  # why the server could not say how it ended
        self.abandoned = False  # not started in time: killed if it ever starts

    def poll(self) -> int | None:
        if self.lost:
            raise RuntimeError(self.lost)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self.ended.wait(timeout):
            raise subprocess.TimeoutExpired(["crswatch", *self.args], timeout or 0)
        if self.lost:
            raise RuntimeError(self.lost)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None and self.pid > 0:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:  # it has just ended (its status is on its way)
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        return self.out.read_text(errors="replace"), self.err.read_text(errors="replace")

    def _end(self, status: int | None, lost: str = "") -> None:
        self.returncode, self.lost = status, lost
        self.started.set()
        self.ended.set()


class _Output:
    """A forked command's stderr, read as `Popen.stderr.read()` reads a pipe (after it has ended)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> str:
        return self.path.read_text(errors="replace") if self.path.exists() else ""


class ForkServer:
    """The client: one server for this test process, started on first use; a thread reads its
    answers and hands each to the command it is about."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()
        self.children: dict[int, Forked] = {}
        self.next_id = 0

    def _server(self) -> subprocess.Popen[bytes]:
        if self.process is None or self.process.poll() is not None:
            # (scripts/map-lowest: the server measures nothing itself; each child does, for its test)
            env = {key: value for key, value in os.environ.items() if key != "COVERAGE_PROCESS_START"}
            self.process = subprocess.Popen(
                [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env
            )
            self.children = {}  # (each server's own: a dead one's reader must not touch the next one's)
            threading.Thread(target=self._read, args=(self.process, self.children), daemon=True).start()
        return self.process

    def _read(self, process: subprocess.Popen[bytes], children: dict[int, Forked]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            answer = json.loads(line)
            with self.lock:
                child = children[answer["id"]]
                if "pid" in answer:
                    child.pid = answer["pid"]
                    child.started.set()
                    if child.abandoned:
                        child.kill()
                else:
                    del children[answer["id"]]
                    child._end(answer["status"])
        with self.lock:  # the server has ended: nobody will say how its children did
            for child in children.values():
                child._end(None, "the fork server ended")
            children.clear()

    def spawn(self, args: list[str], env: dict[str, str]) -> Forked:
        """Start `crswatch ARGS` and return at once (its pid is known when this returns)."""
        child = Forked(args, tempfile.TemporaryDirectory(prefix="crswatch-fork-"))
        with self.lock:
            server = self._server()
            assert server.stdin is not None
            self.next_id += 1
            self.children[self.next_id] = child
            request = {"id": self.next_id, "args": args, "env": env, "cwd": os.getcwd(),
                       "out": str(child.out), "err": str(child.err)}  # fmt: skip
            server.stdin.write(json.dumps(request).encode() + b"\n")
            server.stdin.flush()
        if not child.started.wait(60):
            with self.lock:
                child.abandoned = True
                child.kill()  # (when its pid came in the meantime)
            raise RuntimeError("the fork server did not start the command")
        if child.lost:
            raise RuntimeError(child.lost)
        return child

    def run(self, args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
        child = self.spawn(args, env)
        try:
            try:
                out, err = child.communicate(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(60)
                raise subprocess.TimeoutExpired(["crswatch", *args], timeout) from None
        finally:
            child.folder.cleanup()
        assert child.returncode is not None
        return subprocess.CompletedProcess(["crswatch", *args], child.returncode, out, err)

    def close(self) -> None:
        if self.process is not None and self.process.stdin is not None:
            self.process.stdin.close()
            self.process.wait(timeout=30)


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    serve()
