"""The `/crs` calculator page over real HTTP (`crswatch serve` in a subprocess, a real SMTP
server): a plain form that works without JavaScript, the breakdown on POST (a GET changes
nothing, and calculating stores nothing), in English and French, and "alert me with this
profile" through the double opt-in: the profile is the subscriber's only once confirmed, is never
listed or logged, and is erased on unsubscribe."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from helpers import cli
from pages import Site
from servers import SMTPSink

# Born 1995-06-20, bachelor's, IELTS CLB 10 on all four (taken 2026-06-01), 2 years in Canada,
# 3 abroad: 514 on 2026-06-19 at 30 (A 110-5=105 + 120 + 136 + 53 = 414; C 100), as the CLI says.
ANSWERS = {"on": "2026-06-19", "date_of_birth": "1995-06-20", "spouse": "none", "education": "bachelors_or_three_year",
           "first_test": "ielts", "first_test_date": "2026-06-01", "first_reading": "8", "first_writing": "7.5",
           "first_listening": "8.5", "first_speaking": "7.5", "second_test": "none", "canadian_experience_years": "2",
           "foreign_experience_years": "3", "canadian_education": "none", "job_offer": "none"}  # fmt: skip


@pytest.fixture
def site(env: dict, smtp: SMTPSink) -> Iterator[Site]:
    server = Site(env, smtp)
    yield server
    server.close()


def _store_dump(env: dict) -> str:
    db = Path(env["CRSWATCH_DB"])
    with closing(sqlite3.connect(db.with_name(db.stem + ".sqlite"))) as conn:
        return "\n".join(conn.iterdump())


def test_the_calculator_page_computes_the_breakdown_and_stores_nothing(site: Site, env: dict, tmp_path: Path) -> None:
    page = site.get("/crs")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.find("script") is None and soup.find("form", id="calculator")["method"] == "post"
    labels = {label["for"] for label in soup.find_all("label")}
    assert all(f["id"] in labels for f in soup.find_all(["input", "select"]) if f.get("type") != "hidden")
    assert "What we keep, and why" in page.text
    before = _store_dump(env)
    answer = site.post("/crs", ANSWERS, csrf_from="/crs")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    result = BeautifulSoup(answer.text, "html.parser")
    (tmp_path / "p.json").write_text(json.dumps({"date_of_birth": "1995-06-20", "education": "bachelors_or_three_year",
        "first_language": {"test": "ielts", "test_date": "2026-06-01", "reading": 8, "writing": 7.5, "listening": 8.5, "speaking": 7.5},
        "canadian_experience_years": 2, "foreign_experience_years": 3}))  # fmt: skip
    cli_json = json.loads(
        cli(
            "crs", "--profile", str(tmp_path / "p.json"), "--on", "2026-06-19", "--format", "json", env=env, check=True
        ).stdout
    )
    assert result.find(id="total").text == str(cli_json["total"]) == "514"
    for name, points in cli_json["factors"].items():
        assert result.find(id=f"factor-{name}").text == str(points), name
    assert "2025-03-25" in result.find(id="rules").text
    assert _store_dump(env).count("1995-06-20") == before.count("1995-06-20") == 0  # calculating stores nothing
    french = site.post("/crs?lang=fr", ANSWERS, csrf_from="/crs?lang=fr")
    assert "Votre note SCG le 2026-06-19 : 514" in french.text and "Ce que nous gardons" in french.text
    bad = site.post("/crs?lang=en", {**ANSWERS, "education": "phd", "first_reading": "lots"}, csrf_from="/crs?lang=en")
    said = BeautifulSoup(bad.text, "html.parser").find(id="problems").get_text()
    assert bad.status_code == 400 and "unknown education 'phd'" in said and "first_reading" in said
    assert site.post("/crs", ANSWERS).status_code == 400  # no CSRF token: refused


def test_alert_me_with_this_profile_goes_through_the_double_opt_in(site: Site, env: dict) -> None:
    answer = site.post("/crs", ANSWERS, csrf_from="/crs")
    form = BeautifulSoup(answer.text, "html.parser").find("form", action="/crs/alert")
    fields = {
        f["name"]: f.get("value", "") for f in form.find_all("input") if f.get("type") not in ("checkbox", "radio")
    }
    sent = site.post("/crs/alert", {**fields, "email": "pat@example.com", "streams": ["cec"], "language": "en"})
    assert sent.status_code == 200 and "Check your e-mail" in sent.text
    assert (
        json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout) == []
    )  # pending until confirmed
    link = site.confirmation_link("pat@example.com")
    site.confirm(link)
    (sub,) = json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)
    assert sub["from_profile"] is True and sub["reminders"] is True and "1995" not in json.dumps(sub)
    assert "from profile" in cli("subscribers", env=env, check=True).stdout
    dump = _store_dump(env)
    assert dump.count("1995-06-20") == 1  # in the subscriber's row only: none left with the used sign-up
    cli("unsubscribe", sub["id"], env=env, check=True)
    assert "1995-06-20" not in _store_dump(env)
