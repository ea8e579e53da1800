"""Ctrl-C and SIGTERM at a controlled point: while the real spider waits for a feed server that
holds its answer until the test releases it.  The real `crswatch` in a subprocess, no mocks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from helpers import FeedServer, cli, snapshot, stored_status

HANG = 180  # a cap on waits, not a timing assertion: a clean stop takes a second or two (more on a loaded machine)


class HeldFeed:
    """The feed server, holding every request until `release()`; `arrived` is set by the first."""

    def __init__(self, feed: FeedServer) -> None:
        self.feed, self.arrived, self.gate = feed, threading.Event(), threading.Event()
        handler = feed.httpd.RequestHandlerClass
        answer = handler.do_GET  # type: ignore[attr-defined]
        held = self

        def do_get(request: object) -> None:
            held.arrived.set()
            held.gate.wait(HANG)
            try:
                answer(request)
            except OSError:
                pass  # the client went away (it was stopped): nothing to answer

        handler.do_GET = do_get  # type: ignore[attr-defined]

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def held(feed: FeedServer) -> Iterator[HeldFeed]:
    feed.serve(snapshot("2026-01-21"))
    holder = HeldFeed(feed)
    yield holder
    holder.release()


def start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "crswatch", *args], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def during_fetch(process: subprocess.Popen[str], held: HeldFeed, *signals: int) -> tuple[str, str]:
    """Send `signals` once the spider's request is waiting on the server; return stdout, stderr."""
    try:
        if not held.arrived.wait(HANG):
            process.kill()
            raise AssertionError(f"the spider never reached the feed: {process.communicate()}")
        for sig in signals:
            process.send_signal(sig)
        return process.communicate(timeout=HANG)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def nothing_recorded(env: dict[str, str]) -> None:
    """No feed failure (or any outcome) was recorded for the stopped check."""
    status = json.loads(cli("status", "--format", "json", env=env).stdout)
    assert status["last_outcome"] is None and status["consecutive_failures"] == 0, status


@pytest.mark.parametrize(
    ("sig", "code", "name"), [(signal.SIGINT, 130, "Ctrl-C (SIGINT)"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_a_signal_during_check_ends_it_with_one_line_and_its_code(
    held: HeldFeed, env: dict, sig: int, code: int, name: str
) -> None:
    process = start(env, "check", "--source", held.feed.url)
    out, err = during_fetch(process, held, sig)
    assert process.returncode == code, err
    assert err == f"crswatch: error: check interrupted by {name}; nothing is lost: the next check finishes the work\n"
    assert out == ""
    nothing_recorded(env)
    held.release()
    again = cli("check", "--source", held.feed.url, env=env)  # the lock was released: the next check runs
    assert again.returncode == 0 and "393 new" in again.stdout, again.stderr


def test_a_second_ctrl_c_during_check_still_ends_cleanly(held: HeldFeed, env: dict) -> None:
    process = start(env, "check", "--source", held.feed.url)
    out, err = during_fetch(process, held, signal.SIGINT, signal.SIGINT)
    # the second one may land while Python finalizes (its handlers are gone then): the shell
    # still sees 130, as for any process Ctrl-C ends
    assert process.returncode in (130, -signal.SIGINT), err
    assert "Traceback" not in err and err.count("crswatch: error:") <= 1, err
    nothing_recorded(env)


def until(process: subprocess.Popen[str], words: str) -> list[str]:
    """`run`'s log lines up to the first one holding `words` (each signal is heard before the next:
    two signals sent at once may reach Python as one)."""
    assert process.stdout is not None
    lines = [process.stdout.readline()]
    while lines[-1] and words not in lines[-1]:
        lines.append(process.stdout.readline())
    assert words in lines[-1], lines
    return lines


def test_sigterm_during_a_fetch_lets_run_finish_the_cycle(held: HeldFeed, env: dict) -> None:
    process = start(env, "run", "--every", "1h", "--window", "off", "--jitter", "0", "--source", held.feed.url)
    try:
        assert held.arrived.wait(HANG), "the first cycle reached the feed"
        process.send_signal(signal.SIGTERM)
        until(process, "stopping; waiting for the cycle in progress")  # heard while the feed still holds
        held.release()
        out, err = process.communicate(timeout=HANG)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "cycle 1 " in out and "393 new" in out and "stopped after 1 cycle(s)" in out, out
    assert "Traceback" not in err
    status = stored_status(env)
    assert status["outcome"] == "updated" and status["consecutive_failures"] == 0


def test_a_second_signal_abandons_runs_cycle_at_once_and_records_no_failure(held: HeldFeed, env: dict) -> None:
    process = start(env, "run", "--every", "1h", "--window", "off", "--jitter", "0", "--source", held.feed.url)
    try:
        assert held.arrived.wait(HANG), "the first cycle reached the feed"
        process.send_signal(signal.SIGINT)
        until(process, "stopping; waiting for the cycle in progress")
        process.send_signal(signal.SIGINT)  # the feed still holds: the cycle is abandoned, not finished
        out, err = process.communicate(timeout=HANG)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert (
        err
        == "crswatch: error: run stopped by Ctrl-C (SIGINT) during a cycle; nothing is lost: the next check finishes the work\n"
    )
    assert "abandoned the cycle in progress" in out and "stopped after 0 cycle(s)" in out
    nothing_recorded(env)
    assert not json.loads(cli("status", "--format", "json", env=env).stdout)["scheduler"]["running"]
