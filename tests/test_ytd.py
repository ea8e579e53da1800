"""The year to date against the levels plan, on the real 2026-01-21 snapshot with injected days:
`stats` (table and --ytd JSON), the pure computation on Ottawa's year, and the plan table.

Counted by hand from the snapshot: 2026 up to 2026-01-21 has #389 PNP 574, #390 CEC 8,000, #391 PNP
681 and #392 CEC 6,000; 2025 has 58 draws and 113,998 invitations, 10,898 of them in 24 PNP draws."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from helpers import cli, snapshot

from crswatch.draws.levels import group_of, targets_for
from crswatch.draws.record import ottawa_today
from crswatch.history.ytd import year_to_date

_FILLED: dict[str, Path] = {}


@pytest.fixture
def filled(env: dict, db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    if "db" not in _FILLED:
        master = tmp_path_factory.mktemp("ytd") / "crswatch.json"
        cli("check", "--source", snapshot("2026-01-21").as_uri(), env={**env, "CRSWATCH_DB": str(master)}, check=True)
        _FILLED["db"] = master
    shutil.copy(_FILLED["db"], db_path)
    shutil.copy(
        _FILLED["db"].with_name("crswatch.sqlite"), db_path.with_name("crswatch.sqlite")
    )  # the store that saw the draws
    return env


def _ytd(env: dict, day: str) -> dict:
    return json.loads(cli("stats", "--ytd", "--on", day, "--format", "json", env=env, check=True).stdout)


def test_this_year_per_stream_and_in_all_beside_the_plan(filled: dict) -> None:
    out = _ytd(filled, "2026-01-21")
    assert out["year"] == 2026 and out["until"] == "2026-01-21"
    assert [(r["stream"], r["draws"], r["invitations"]) for r in out["streams"]] == [
        ("cec", 2, 14000),
        ("pnp", 2, 1255),
        ("all", 4, 15255),
    ]
    assert [(g["name"], g["invitations"], g["target"], g["plan"]) for g in out["plan"]] == [
        ("Federal High Skilled", 14000, 109000, "2026-2028 Immigration Levels Plan"),
        ("Provincial Nominee Program", 1255, 91500, "2026-2028 Immigration Levels Plan"),
    ]
    assert "not invitations" in out["note"]


def test_a_day_early_in_the_year_counts_only_the_draws_until_then(filled: dict) -> None:
    out = _ytd(filled, "2026-01-06")
    assert [(r["stream"], r["invitations"]) for r in out["streams"]] == [("pnp", 574), ("all", 574)]
    assert _ytd(filled, "2026-01-04")["streams"] == [
        {"stream": "all", "draws": 0, "invitations": 0, "plan_group": None}
    ]


def test_last_year_against_last_years_plan(filled: dict) -> None:
    out = _ytd(filled, "2025-12-31")
    assert out["streams"][-1] == {"stream": "all", "draws": 58, "invitations": 113998, "plan_group": None}
    assert [(g["invitations"], g["target"]) for g in out["plan"]] == [(103100, 124680), (10898, 55000)]


def test_stats_shows_the_year_to_date_under_its_table(filled: dict) -> None:
    lines = cli("stats", "--since", "2025-01-01", "--on", "2026-01-21", env=filled, check=True).stdout.splitlines()
    start = lines.index(
        "Invitations issued in 2026 up to 2026-01-21 (Ottawa), beside IRCC's admissions targets for 2026:"
    )
    assert lines[start - 1] == "" and lines[start + 1].split() == ["stream", "draws", "invitations", "plan_group"]
    assert lines[start + 3].split()[:3] == ["cec", "2", "14,000"] and lines[start + 5].split()[:3] == [
        "all",
        "4",
        "15,255",
    ]
    assert lines[start + 6] == ("  Federal High Skilled: 14,000 invitations so far; target 109,000 admissions "
                                "(2026-2028 Immigration Levels Plan, one source)")  # fmt: skip
    assert lines[-1].startswith("Note: an admissions target counts people admitted as permanent residents")
    rows = json.loads(
        cli("stats", "--since", "2025-01-01", "--on", "2026-01-21", "--format", "json", env=filled, check=True).stdout
    )
    assert isinstance(rows, list) and rows[0]["stream"] == "pnp"  # the JSON listing keeps its shape


def test_the_year_is_ottawas(filled: dict) -> None:
    """At 03:00 UTC on January 1st it is still December 31st in Ottawa: the year is the old one."""
    records = [
        {"date": "2025-12-31", "stream": "cec", "invitations": 100},
        {"date": "2026-01-01", "stream": "cec", "invitations": 7},
    ]
    clock = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    assert ottawa_today(clock) == date(2025, 12, 31)
    assert year_to_date(records, ottawa_today(clock)).rows[-1]["invitations"] == 100
    assert year_to_date(records, ottawa_today(datetime(2026, 1, 1, 6, 0, tzinfo=UTC))).rows[-1]["invitations"] == 7


def test_a_later_plan_replaces_a_notional_target() -> None:
    assert (
        targets_for(2026, date(2025, 11, 3))["federal_high_skilled"].admissions == 123230
    )  # the 2025-2027 plan's notional figure
    assert targets_for(2026, date(2025, 11, 4))["federal_high_skilled"].admissions == 109000
    assert targets_for(2031, date(2031, 6, 1)) == {}
    assert (group_of("cec"), group_of("physicians"), group_of("pnp"), group_of("other")) == (
        "federal_high_skilled",
    ) * 2 + ("pnp", None)


def test_a_year_without_a_target_says_so(filled: dict) -> None:
    out = _ytd(filled, "2031-06-01")
    assert [g["target"] for g in out["plan"]] == [None, None]
    text = cli("stats", "--ytd", "--on", "2031-06-01", env=filled, check=True).stdout
    assert "Federal High Skilled: 0 invitations so far; no target found" in text


def _client(env: dict, clock: list[datetime]):  # type: ignore[no-untyped-def]
    from crswatch.app import App
    from crswatch.web import create_app

    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(
        config.read_text() + '\n[web]\nemail_channel = "mailto://127.0.0.1:9?from=a@example.com&to={email}"\n'
    )
    return create_app(App(None, None, 0), clock=lambda: clock[0]).test_client()


def test_the_draws_page_shows_the_year_to_date_on_ottawas_day(filled: dict) -> None:
    from bs4 import BeautifulSoup

    clock = [datetime(2026, 1, 22, 4, 30, tzinfo=UTC)]  # 23:30 on the 21st in Ottawa
    client = _client(filled, clock)
    page = client.get("/draws")
    soup = BeautifulSoup(page.text, "html.parser")
    rows = [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in soup.find(id="ytd").find_all("tr")[1:]]
    assert rows == [
        ["Canadian Experience Class", "2", "14,000"],
        ["Provincial Nominee Program", "2", "1,255"],
        ["All streams", "4", "15,255"],
    ]
    plan = [li.get_text(" ", strip=True) for li in soup.find(id="plan").find_all("li")]
    assert plan[0] == ("Federal High Skilled: 14,000 invitations so far; IRCC's target for 2026: 109,000 permanent-resident admissions "
                       "(Immigration Levels Plan 2026-2028). (figure from one source)")  # fmt: skip
    assert "Invitations to apply issued in 2026 up to 2026-01-21 (Ottawa's date)" in page.text
    assert "An admissions target is not a number of invitations" in page.text
    etag = page.headers["ETag"]
    assert client.get("/draws", headers={"If-None-Match": etag}).status_code == 304

    clock[0] = datetime(2027, 1, 2, 17, 0, tzinfo=UTC)  # a new year in Ottawa: nothing invited yet, and another page
    later = client.get("/draws", headers={"If-None-Match": etag})
    assert later.status_code == 200 and later.headers["ETag"] != etag
    soup = BeautifulSoup(later.text, "html.parser")
    assert [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in soup.find(id="ytd").find_all("tr")[1:]] == [
        ["All streams", "0", "0"]
    ]
    assert "Federal High Skilled: 0 invitations so far; IRCC's target for 2027: 111,000" in soup.find(
        id="plan"
    ).get_text(" ", strip=True)


def test_the_draws_page_in_french(filled: dict) -> None:
    client = _client(filled, [datetime(2026, 1, 21, 20, tzinfo=UTC)])
    page = client.get("/draws", headers={"Accept-Language": "fr"})
    assert "Travailleurs hautement qualifiés (fédéral) : 14 000 invitations jusqu'ici" in page.text.replace(
        "\u202f", " "
    ).replace("\xa0", " ")
    assert "Tous les volets" in page.text and "Une cible d'admissions n'est pas un nombre d'invitations" in page.text
