"""`crswatch run`, cycle locking between processes, and `status` health."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from helpers import FeedServer, cli, snapshot, table, wait_until
from servers import SMTPSink


def _status(db_path: Path) -> dict:
    return next((m for m in table(db_path, "meta") if m["key"] == "status"), {})


def _wait(predicate, timeout: float = 60) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _missed_run(env: dict) -> subprocess.CompletedProcess[str]:
    """Wait until `status` reports a missed run (no success for 1.5x the schedule's interval): the
    state, not a sleep.  It must not say so early: the last success is older than 1.5x by then."""
    late = wait_until(
        lambda: "missed run:" in (answer := cli("status", "--format", "json", env=env)).stdout and answer,
        what="status to report a missed run",
    )
    seen = datetime.now(UTC)
    data = json.loads(late.stdout)
    interval = 1  # seconds: the `[schedule] every` the tests write
    assert (seen - datetime.fromisoformat(data["last_success_at"])).total_seconds() > 1.5 * interval, data
    return late


def test_run_cycles_picks_up_a_new_draw_alerts_and_stops_on_sigterm(
    feed: FeedServer, env: dict, db_path: Path, smtp: SMTPSink
) -> None:
    feed.serve(snapshot("2026-01-20"))
    cli("check", "--source", feed.url, env=env, check=True)
    cli("subscribe", "--score", "515", "--notify", smtp.url("runner@example.com"), env=env, check=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "crswatch", "run", "--every", "1s", "--window", "off", "--jitter", "0", "--source", feed.url],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert _wait(lambda: len(feed.requests) >= 3), "several cycles in one process"
        assert (status := json.loads(cli("status", "--format", "json", env=env).stdout))["scheduler"]["running"]
        assert status["scheduler"]["pid"] == process.pid
        feed.serve(snapshot("2026-01-21"))
        assert _wait(lambda: smtp.to("runner@example.com")), "the new draw's alert arrives"
        seen = len(feed.requests)
        assert _wait(lambda: len(feed.requests) >= seen + 2), "cycles go on after the alert"
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    lines = out.strip().splitlines()
    assert "started" in lines[0] and "stopped after" in lines[-1]
    cycles = [line for line in lines if " cycle " in line]
    assert len(cycles) >= 5 and any("1 new" in line and "1 sent" in line for line in cycles)
    assert len(smtp.to("runner@example.com")) == 1
    assert not json.loads(cli("status", "--format", "json", env=env).stdout)["scheduler"]["running"]


def test_two_concurrent_checks_never_both_run_a_cycle(feed: FeedServer, env: dict, db_path: Path) -> None:
    feed.serve(snapshot("2026-01-21"))
    feed.delay = 3.0  # the first check holds the cycle lock for a while
    command = [sys.executable, "-m", "crswatch", "check", "--wait", "0.5", "--source", feed.url]
    first = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert _wait(lambda: len(feed.requests) == 1)
    second = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    first.communicate(timeout=60)
    assert first.returncode == 0
    assert second.returncode == 6
    assert (
        second.stderr.strip()
        == f"crswatch: error: another crswatch check is running on {db_path} (waited 0.5s); try again later"
    )
    assert len(feed.requests) == 1


def test_status_reports_a_missed_run(feed: FeedServer, env: dict, db_path: Path) -> None:
    feed.serve(snapshot("2026-01-21"))
    cli("check", "--source", feed.url, env=env, check=True)
    healthy = cli("status", env=env)
    assert healthy.returncode == 0 and "health:        OK" in healthy.stdout
    assert "#392 2026-01-21 Canadian Experience Class: 6,000 invitations, CRS 509" in healthy.stdout
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text() + '\n[schedule]\nevery = "1s"\nwindow = "off"\n')
    late = _missed_run(env)
    assert late.returncode == 7
    data = json.loads(late.stdout)
    assert not data["healthy"] and data["problems"][0].startswith("missed run: no successful check for")
    assert data["problems"][0].endswith("(expected every 1s)")
    assert data["newest_draw"]["number"] == "392" and data["consecutive_failures"] == 0


def test_status_on_an_empty_database_is_unhealthy(env: dict) -> None:
    result = cli("status", env=env)
    assert result.returncode == 7 and "no check has run yet" in result.stdout


def test_run_rejects_a_bad_schedule(env: dict) -> None:
    for args in (["--every", "soon"], ["--window", "weekdays"], ["--cron", "every day"]):
        result = cli("run", *args, env=env)
        assert result.returncode == 2 and result.stderr.startswith("crswatch: error:"), args


def test_run_tells_the_operator_once_about_missed_runs(feed: FeedServer, env: dict, webhook) -> None:  # noqa: ANN001
    feed.serve(snapshot("2026-01-21"))
    cli("check", "--source", feed.url, env=env, check=True)
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text() + '\n[schedule]\nevery = "1s"\nwindow = "off"\njitter = "0"\n')
    _missed_run(env)  # the runs below find the last success overdue
    feed.serve(b"down", status=404)
    env = {**env, "CRSWATCH_OPERATOR": webhook.url("operator")}
    for _ in range(2):
        result = cli("run", "--max-cycles", "1", "--source", feed.url, env=env)
        assert result.returncode == 0 and "failed: cannot fetch" in result.stdout
    titles = [p["title"] for p in webhook.posts]
    assert titles.count("crswatch: missed checks") == 1
