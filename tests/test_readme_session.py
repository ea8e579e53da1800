"""The README's session (check, subscribe, subscribers, update … status, config, run) replayed as a
user would type it, on the shared snapshots, and compared with what the README prints.

What differs on every run is normalised, and only that: subscriber ids and tokens (mapped to the
README's by which subscriber they belong to), timestamps, durations and the pid, the home folder
(shown as /home/me) and the SMTP port (a free one with as many digits as 2525, so tables keep their
widths). Listings whose order follows the random ids are compared as sets of lines."""

from __future__ import annotations

import os
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import DOCS_TEXT, SHARED, in_shell
from servers import SMTPSink, wait_for_crswatch

BLOCKS = re.findall(r"```console\n(.*?)```", DOCS_TEXT, re.DOTALL)


def _printed() -> dict[str, list[str]]:
    """README command line (comment removed) → the lines printed under it."""
    found: dict[str, list[str]] = {}
    for block in BLOCKS:
        command = None
        for line in block.splitlines():
            if line.startswith("$ "):
                command = line[2:].split("  #")[0].strip()
                found[command] = []
            elif command is not None:
                found[command].append(line)
    return found


PRINTED = _printed()
README_IDS = {"priya": "h4hwy8n7", "li": "dsu2fxij", "slack": "tz763hww"}
README_TOKEN = re.search(r"unsubscribe token: (h4hwy8n7\.\S+)", DOCS_TEXT).group(1)  # type: ignore[union-attr]
SLACK = next(
    line
    for line in re.sub(r"\\\n\s*", " ", DOCS_TEXT).splitlines()
    if line.startswith("crswatch subscribe") and "slack://" in line
)
STAMPS = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"), "<stamp>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000"), "<time>"),
    (re.compile(r"\(pid \d+\)"), "(pid N)"),
    (re.compile(r"\(\d+\.\ds\)"), "(N.Ns)"),
]


def _port() -> int:
    """A free port with four digits, like the README's 2525."""
    for port in [2525, *random.sample(range(2000, 9999), 200)]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free four-digit port")


class Session:
    """A user's shell: HOME in a temporary folder, no config file, the README's SMTP port."""

    def __init__(self, home: Path, port: int) -> None:
        self.home, self.port = home, port
        self.ids: dict[str, str] = {}  # actual → README
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CRSWATCH_", "XDG_"))}
        # the feed comes from the README's own `export CRSWATCH_SOURCE=…` line (the check section),
        # so a README example that needs a copy of the feed and names none cannot pass unnoticed
        name, value = shlex.split(next(c for c in PRINTED if c.startswith("export CRSWATCH_SOURCE=")))[1].split("=", 1)
        self.env.update(HOME=str(home), **{name: value.replace("file://$PWD/../shared/ircc/", SHARED.as_uri() + "/")})

    def command(self, line: str) -> list[str]:
        line = line.replace("file://$PWD/../shared/ircc/", SHARED.as_uri() + "/").replace(":2525", f":{self.port}")
        for actual, printed in sorted(self.ids.items(), key=lambda pair: -len(pair[1])):
            line = line.replace(printed, actual)
        return shlex.split(line)[1:]

    def run(self, line: str, *, code: int = 0, source: bool = True) -> list[str]:
        env = self.env if source else {k: v for k, v in self.env.items() if k != "CRSWATCH_SOURCE"}
        result = in_shell(self.command(line), env)
        assert result.returncode == code, f"{line} exited {result.returncode}:\n{result.stderr}"
        return self.normalise(result.stdout + result.stderr)

    def normalise(self, text: str) -> list[str]:
        text = text.replace(str(self.home), "/home/me").replace(f":{self.port}", ":2525")
        for actual, printed in sorted(self.ids.items(), key=lambda pair: -len(pair[0])):  # tokens before ids
            text = text.replace(actual, printed)
        for pattern, stands_for in STAMPS:
            text = pattern.sub(stands_for, text)
        return _apprise_forms([line.rstrip() for line in text.rstrip("\n").splitlines()])

    def subscribe(self, line: str, who: str) -> list[str]:
        result = in_shell(self.command(line), self.env, timeout=60)
        assert result.returncode == 0, result.stderr
        actual = result.stdout.splitlines()[0]
        self.ids[actual] = README_IDS[who]
        token = re.search(rf"unsubscribe token: ({actual}\.\S+)", result.stdout + result.stderr)
        if who == "priya" and token:
            self.ids[token.group(1)] = README_TOKEN
        return self.normalise(result.stdout + result.stderr)


def expected(line: str) -> list[str]:
    lines = PRINTED[line]
    for pattern, stands_for in STAMPS:
        lines = [pattern.sub(stands_for, x) for x in lines]
    return _apprise_forms([x.rstrip() for x in lines])


#: The README shows the newest allowed versions.  In the run on the lowest ones (scripts/test sets
#: CRSWATCH_LOWEST_VERSIONS), apprise 1.9.0 writes the query of a masked channel URL differently
#: ("?format=html&cto=15&from=…"), which also moves the table's columns: there, and only there,
#: those queries, the padding and the width of a table's rules are compared loosely.
LOOSE = bool(os.environ.get("CRSWATCH_LOWEST_VERSIONS"))
QUERY = re.compile(r"(\w+://[^\s?]+)\?[^\s:]*")


def _apprise_forms(lines: list[str]) -> list[str]:
    if not LOOSE:
        return lines
    return [
        re.sub(r"-{3,}", "---", " ".join(QUERY.sub(r"\1?…", line).split())) for line in lines
    ]  # the rule under a header too


def _cut(lines: list[str]) -> list[str]:
    """The README stops a long listing with '...'."""
    return lines[: lines.index("...")] if "..." in lines else lines


@pytest.fixture(scope="module")
def smtp_port() -> Iterator[int]:
    sink = SMTPSink(port=_port()).start()
    yield sink.port
    sink.stop()


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, smtp_port: int) -> Session:
    return Session(tmp_path_factory.mktemp("home"), smtp_port)


def test_the_readme_session_prints_what_the_readme_shows(session: Session) -> None:
    first = "crswatch check --source file://$PWD/../shared/ircc/ee_rounds_123_en.2026-01-20.json"
    assert session.run(first) == expected(first)

    priya = next(c for c in PRINTED if c.startswith("crswatch subscribe --score 510"))
    assert session.subscribe(priya, "priya") == expected(priya)
    # Li and the Slack subscriber are shown in the listing; the README shows how to make such ones
    session.subscribe(
        "crswatch subscribe --score 509 --name Li --profile-created 2025-11-01T09:00:00Z "
        "--notify 'mailto://127.0.0.1:2525?from=crswatch@example.com&to=li@example.com'",
        "li",
    )
    session.subscribe(SLACK, "slack")

    dry = "crswatch check --dry-run"
    assert sorted(session.run(dry)) == sorted(expected(dry))
    assert session.run("crswatch check") == expected("crswatch check")

    assert sorted(session.run("crswatch subscribers")) == sorted(expected("crswatch subscribers"))
    failed = "crswatch deliveries --status failed --format csv"
    assert session.run(failed) == expected(failed)
    assert session.run("crswatch retry --dead") == expected("crswatch retry --dead")
    assert session.run("crswatch status") == expected("crswatch status")

    for line in (
        "crswatch update dsu2fxij --score 512",
        "crswatch pause h4hwy8n7",
        "crswatch resume h4hwy8n7",
        f"crswatch unsubscribe {README_TOKEN}",
        "crswatch test-alert dsu2fxij",
    ):
        assert session.run(line) == expected(line), line

    assert _cut(session.run("crswatch config", source=False))[: len(_cut(expected("crswatch config")))] == _cut(
        expected("crswatch config")
    )

    bad = next(c for c in PRINTED if c.startswith("crswatch subscribe --score 2000"))
    assert session.run(bad, code=2) == expected(bad)


def test_the_readme_run_prints_what_the_readme_shows(tmp_path: Path) -> None:
    session = Session(tmp_path, 2525)
    line = "crswatch run --every 2s --window off --jitter 0"
    process = subprocess.Popen(
        [sys.executable, "-m", "crswatch", *session.command(line)],
        env={**session.env, "CRSWATCH_HOST": "web-1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # the README's host
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines.append(process.stdout.readline())
        if " cycle 2 " in lines[-1]:
            break
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    printed = [x for x in expected(line) if x != "^C"]
    assert session.normalise("".join(lines) + rest) == printed


def _start_serve(session: Session, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """`crswatch serve` on a free four-digit port, and its first line.  A port found free can be
    taken by another test before serve binds it: then serve says so (exit 2), and another is tried."""
    for _ in range(5):
        process = subprocess.Popen(
            [sys.executable, "-m", "crswatch", "serve", "--port", str(session.port)],
            env={**env, "PYTHONFAULTHANDLER": "1"},  # a hang is shown: every thread's stack on SIGABRT
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        first = process.stdout.readline()
        if "cannot listen on" not in first:
            return process, first
        assert process.wait(timeout=60) == 2, first
        session.port = _port()
    raise AssertionError("no free port for serve after 5 tries")


def test_the_readme_serve_prints_what_the_readme_shows(tmp_path: Path) -> None:
    session = Session(tmp_path, _port())  # the README's 8080 may be taken here: another four-digit port
    env = dict(session.env)
    for variable in ("CRSWATCH_WEB_EMAIL_CHANNEL", "CRSWATCH_PUBLIC_URL"):  # as the README's serve section exports them
        name, value = shlex.split(next(c for c in PRINTED if c.startswith(f"export {variable}=")))[1].split("=", 1)
        env[name] = value
    process, first = _start_serve(session, env)
    try:
        wait_for_crswatch(session.port, process)  # as a user presses Ctrl-C: once the pages answer
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            rest, _ = process.communicate(timeout=30)
            raise AssertionError(f"serve did not stop within 60 s of Ctrl-C:\n{rest}") from None
    finally:
        process.kill()
    assert process.returncode == 0, rest  # Ctrl-C is serve's way to stop: a clean exit
    assert [x.replace(":2525/", ":8080/") for x in session.normalise(first)] == expected("crswatch serve")


def test_the_readme_chart_file_example(tmp_path: Path) -> None:
    line = next(c for c in PRINTED if c.startswith("crswatch chart") and " -o " in c)
    session = Session(tmp_path, 2525)
    session.run("crswatch check")
    (tmp_path / "docs").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "crswatch", *session.command(line)],
        env=session.env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    size = re.compile(r"\([\d,]+ bytes\)")  # the PNG's size follows the plotting library's version
    assert size.sub("(N bytes)", result.stdout).splitlines() == [size.sub("(N bytes)", x) for x in expected(line)]


def test_every_printed_example_is_replayed_somewhere() -> None:
    """Each README command shown with its output is run by this file or by test_readme_output."""
    import test_readme_output

    history = {" ".join(args) for args, _ in test_readme_output.EXAMPLES}
    replayed = (
        "check",
        "subscribe --score 510",
        "subscribe --score 2000",
        "subscribers",
        "deliveries --status failed",
        "retry --dead",
        "status",
        "update dsu2fxij",
        "pause",
        "resume",
        "unsubscribe",
        "test-alert",
        "config",
        "run ",
        "serve",
        "chart",
        "crs ",
        "db ",
        "--store postgresql+psycopg://crswatch:***@db/crswatch ",
    )  # crs: test_crs_cli; db: test_migrations
    for command, lines in PRINTED.items():
        words = " ".join(shlex.split(command)[1:])
        if command.startswith("crswatch ") and any(x.strip() for x in lines):
            assert words in history or words.startswith(replayed), command
