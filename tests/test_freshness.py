"""The API's forecast changes with the day, not only with the data: its "overdue" flag, its ETag
and its Last-Modified follow Ottawa's date (the app's clock injected)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpers import cli, snapshot


def test_the_forecast_and_its_etag_change_with_ottawas_day(env: dict) -> None:
    from crswatch.app import App
    from crswatch.draws.record import ottawa_today
    from crswatch.web import create_app

    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(
        config.read_text() + '\n[web]\nemail_channel = "mailto://127.0.0.1:9?from=a@example.com&to={email}"\n'
    )
    cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)  # newest draw #392 on 2026-01-21
    stored = datetime(2026, 1, 21, 20, tzinfo=UTC).timestamp()
    os.utime(
        env["CRSWATCH_DB"], (stored, stored)
    )  # the draws file as written that day (the clocks below are that month's)
    clock = [datetime(2026, 1, 22, 4, 30, tzinfo=UTC)]  # 23:30 on the 21st in Ottawa, already the 22nd in UTC
    client = create_app(App(None, None, 0), clock=lambda: clock[0]).test_client()
    assert ottawa_today(clock[0]).isoformat() == "2026-01-21"

    first = client.get("/api/forecast?stream=cec")
    assert first.status_code == 200 and first.json[0]["overdue"] is False
    etag, modified, next_date = first.headers["ETag"], first.headers["Last-Modified"], first.json[0]["next_date"]
    assert (
        client.get("/api/forecast?stream=cec", headers={"If-None-Match": etag}).status_code == 304
    )  # same day, same answer

    clock[0] = datetime.fromisoformat(next_date + "T12:00:00+00:00") + timedelta(days=1)  # the forecast date has passed
    later = client.get("/api/forecast?stream=cec", headers={"If-None-Match": etag})
    assert later.status_code == 200 and later.json[0]["overdue"] is True and later.headers["ETag"] != etag
    assert client.get("/api/forecast?stream=cec", headers={"If-Modified-Since": modified}).status_code == 200
    assert (
        client.get(
            "/api/draws?limit=1", headers={"If-None-Match": client.get("/api/draws?limit=1").headers["ETag"]}
        ).status_code
        == 304
    )
