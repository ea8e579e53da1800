"""`/metrics` and `/healthz`: after a known run (two changes of the feed, a 304, a failure, one
alert sent), Prometheus's own parser reads figures that match it, from `serve` and from
`run --metrics-port`; `/healthz` turns 503 with its reason once checks stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from helpers import FeedServer, cli, snapshot, stored_status
from prometheus_client.parser import text_string_to_metric_families
from servers import SMTPSink, free_port


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _with_web(env: dict, email_channel: str) -> None:
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text() + f'\n[web]\nemail_channel = "{email_channel}"\n')


def _known_run(feed: FeedServer, env: dict, smtp: SMTPSink) -> None:
    _with_web(env, smtp.url("{email}"))
    feed.serve(snapshot("2026-01-20"), ETag='"one"')
    cli("check", "--source", feed.url, env=env, check=True)  # updated: the history, nobody alerted
    cli("subscribe", "--score", "520", "--stream", "cec", "--notify", smtp.url("dana@example.com"), env=env, check=True)
    feed.serve(snapshot("2026-01-21"), ETag='"two"')  # draw #392 is published
    assert "1 sent" in cli("check", "--source", feed.url, env=env, check=True).stdout
    assert "304" in cli("check", "--source", feed.url, env=env, check=True).stdout  # unchanged: a conditional GET
    feed.fail_next = 10
    assert cli("check", "--source", feed.url, env=env).returncode == 3  # failed
    feed.fail_next = 0


def _app(clock: list[datetime]):  # type: ignore[no-untyped-def]
    from crswatch.app import App
    from crswatch.web import create_app

    return create_app(App(None, None, 0), clock=lambda: clock[0]).test_client()


def test_metrics_match_a_known_run_and_health_follows_the_checks(feed: FeedServer, env: dict, smtp: SMTPSink) -> None:
    _known_run(feed, env, smtp)
    status = stored_status(env)
    last_success = datetime.fromisoformat(status["last_success_at"])
    clock = [last_success + timedelta(seconds=10)]
    client = _app(clock)
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain; version=")
    found = _samples(answer.get_data(as_text=True))
    draws = len(json.loads(cli("draws", "--format", "json", env=env, check=True).stdout))
    expected = {
        ("crswatch_checks_total", (("outcome", "updated"),)): 2,
        ("crswatch_checks_total", (("outcome", "unchanged"),)): 1,
        ("crswatch_checks_total", (("outcome", "failed"),)): 1,
        ("crswatch_checks_total", (("outcome", "rejected"),)): 0,
        ("crswatch_feed_not_modified_total", ()): 1,
        ("crswatch_draws_stored", ()): draws,
        ("crswatch_held_rounds", ()): 0,
        ("crswatch_deliveries", (("channel", "mailto"), ("status", "sent"))): 1,
        ("crswatch_queue_depth", ()): 0,
        ("crswatch_oldest_due_delivery_age_seconds", ()): 0,
        ("crswatch_claims_in_flight", ()): 0,
        ("crswatch_last_success_timestamp_seconds", ()): last_success.timestamp(),
        ("crswatch_feed_last_changed_timestamp_seconds", ()): datetime.fromisoformat(
            status["last_changed_at"]
        ).timestamp(),
        ("crswatch_subscribers", (("status", "active"),)): 1,
        ("crswatch_subscribers", (("status", "paused"),)): 0,
        ("crswatch_sign_ups", (("state", "waiting"),)): 0,
        ("crswatch_store_up", ()): 1,
        ("crswatch_healthy", ()): 1,
    }
    # timestamps to the microsecond the store keeps (a float's last digit may differ by the route taken)
    assert {key: found.get(key) for key in expected} == pytest.approx(expected, rel=0, abs=1e-5)
    assert draws > 390 and status["last_changed_at"] < status["last_success_at"]  # the 304 was later than the change

    healthy = client.get("/healthz")
    assert healthy.status_code == 200 and healthy.get_data(as_text=True) == "ok\n"
    clock[0] = last_success + timedelta(days=3)  # the checks stopped
    sick = client.get("/healthz")
    assert sick.status_code == 503 and sick.get_data(as_text=True).startswith("missed run: no successful check for 3d")
    assert _samples(client.get("/metrics").get_data(as_text=True))[("crswatch_healthy", ())] == 0

    page = client.get("/draws")
    checked = f"{datetime.fromisoformat(status['last_check_at']):%Y-%m-%d %H:%M}"
    assert (
        f"last checked {checked} UTC; last changed {datetime.fromisoformat(status['last_changed_at']):%Y-%m-%d %H:%M} UTC"
        in page.get_data(as_text=True)
    )
    api = client.get("/api/feed")
    assert (
        api.json == {"last_checked": status["last_check_at"], "last_changed": status["last_changed_at"]}
        and api.headers["Cache-Control"] == "no-store"
    )


def test_run_serves_the_same_metrics_on_a_port_of_its_own(feed: FeedServer, env: dict, smtp: SMTPSink) -> None:
    _known_run(feed, env, smtp)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "crswatch", "run", "--every", "1h", "--window", "off", "--jitter", "0", "--source", feed.url,
                                "--metrics-port", str(port)], env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        answer = None
        while time.monotonic() < deadline:  # wait for the first cycle (a 304) to be recorded
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            except requests.ConnectionError:
                answer = None
            if (
                answer is not None
                and _samples(answer.text).get(("crswatch_checks_total", (("outcome", "unchanged"),))) == 2
            ):
                break
            time.sleep(0.1)
        assert answer is not None, process.stderr
        found = _samples(answer.text)
        assert (
            found[("crswatch_checks_total", (("outcome", "updated"),))] == 2
            and found[("crswatch_feed_not_modified_total", ())] == 2
        )
        assert found[("crswatch_deliveries", (("channel", "mailto"), ("status", "sent")))] == 1
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200 and health.text == "ok\n"
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert f"/metrics and /healthz on http://127.0.0.1:{port}/" in out.decode()


@pytest.mark.parametrize("path", ["/metrics", "/healthz"])
def test_a_get_changes_nothing(path: str, env: dict, feed: FeedServer) -> None:
    _with_web(env, "mailto://127.0.0.1:9?from=a@example.com&to={email}")
    feed.serve(snapshot("2026-01-20"))
    cli("check", "--source", feed.url, env=env, check=True)
    before = stored_status(env)
    client = _app([datetime.now(UTC)])
    assert client.get(path).status_code in (200, 503)
    assert stored_status(env) == before
