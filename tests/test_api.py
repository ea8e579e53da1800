"""The open data over real HTTP (`crswatch serve`): the JSON API equals the CLI's JSON, answers
304 to a conditional GET and is open to other origins; the Atom feeds parse and lead with the
newest draw; the OpenAPI description is valid and names every route served."""

from __future__ import annotations

import json
from collections.abc import Iterator

import feedparser
import pytest
from helpers import cli, snapshot
from pages import Site
from servers import SMTPSink


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, dict]]:
    folder = tmp_path_factory.mktemp("api")
    env = {
        "CRSWATCH_DB": str(folder / "crswatch.json"),
        "CRSWATCH_CONFIG": str(folder / "config.toml"),
        "HOME": str(folder),
    }
    (folder / "config.toml").write_text("")
    cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)
    smtp = SMTPSink().start()
    running = Site(env, smtp)
    yield running, env
    running.close()
    smtp.stop()


def _cli_json(env: dict, *args: str) -> object:
    return json.loads(cli(*args, "--format", "json", env=env, check=True).stdout)


@pytest.mark.parametrize(
    ("path", "command"),
    [
        ("/api/draws", ("draws",)),
        (
            "/api/draws?stream=cec&since=2025-01-01&until=2025-12-31",
            ("draws", "--stream", "cec", "--since", "2025-01-01", "--until", "2025-12-31"),
        ),
        (
            "/api/draws?stream=cec&stream=french&limit=3",
            ("draws", "--stream", "cec", "--stream", "french", "--limit", "3"),
        ),
        ("/api/draws/392", ("draws", "show", "392")),
        ("/api/draws/91a", ("draws", "show", "91a")),
        ("/api/streams", ("streams",)),
        (
            "/api/forecast?stream=cec&score=505&draws=3",
            ("forecast", "--stream", "cec", "--score", "505", "--draws", "3"),
        ),
    ],
)
def test_each_api_answer_equals_the_cli_json(site: tuple[Site, dict], path: str, command: tuple[str, ...]) -> None:
    running, env = site
    answer = running.get(path)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    assert answer.json() == _cli_json(env, *command)


def test_a_conditional_get_answers_304(site: tuple[Site, dict]) -> None:
    running, _ = site
    first = running.get("/api/draws?limit=5")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = running.get("/api/draws?limit=5", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert running.get("/api/draws?limit=5", headers={"If-Modified-Since": modified}).status_code == 304
    assert (
        running.get("/api/draws?limit=6", headers={"If-None-Match": etag}).status_code == 200
    )  # another answer, another tag
    assert (
        running.get("/draws.atom", headers={"If-None-Match": running.get("/draws.atom").headers["ETag"]}).status_code
        == 304
    )


def test_cors_is_open_for_get_and_the_pages_headers_apply(site: tuple[Site, dict]) -> None:
    running, _ = site
    answer = running.get("/api/streams", headers={"Origin": "https://example.org"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in answer.headers["Access-Control-Expose-Headers"]
    assert (
        answer.headers["X-Content-Type-Options"] == "nosniff"
        and "default-src 'none'" in answer.headers["Content-Security-Policy"]
    )


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/api/draws?since=yesterday", 400, "since='yesterday' is not a date"),
        ("/api/draws?stream=nope", 400, "unknown stream 'nope'"),
        ("/api/draws?limit=0", 400, "limit='0' is not a whole number"),
        ("/api/draws?since=2025-02-01&until=2025-01-01", 400, "is after until"),
        ("/api/draws/9999", 404, "no draw numbered '9999'"),
        ("/api/forecast?score=1300", 400, "score='1300'"),
        ("/draws/nope.atom", 404, "unknown stream"),
    ],
)
def test_bad_questions_get_a_json_error(site: tuple[Site, dict], path: str, status: int, says: str) -> None:
    running, _ = site
    answer = running.get(path)
    assert answer.status_code == status and says in answer.json()["error"]


def test_the_api_never_exposes_a_subscriber(site: tuple[Site, dict]) -> None:
    running, env = site
    cli(
        "subscribe",
        "--score",
        "480",
        "--name",
        "Secret Person",
        "--notify",
        "mailto://127.0.0.1:9?from=a@example.com&to=hidden@example.com",
        env=env,
        check=True,
    )
    bodies = "".join(
        running.get(path).text
        for path in (
            "/api/draws",
            "/api/draws/392",
            "/api/streams",
            "/api/forecast",
            "/draws.atom",
            "/api/openapi.json",
        )
    )
    assert "hidden@example.com" not in bodies and "Secret Person" not in bodies


def test_the_atom_feed_parses_and_its_newest_entry_is_392(site: tuple[Site, dict]) -> None:
    running, _ = site
    answer = running.get("/draws.atom")
    assert answer.headers["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(answer.content)
    assert not parsed.bozo, parsed.bozo_exception
    newest = parsed.entries[0]
    assert newest.title.startswith("#392 Canadian Experience Class") and "CRS cut-off 509" in newest.summary
    assert newest.link.startswith("https://www.canada.ca/") and newest.id.startswith("urn:uuid:")
    assert len(parsed.entries) == 50 and len({e.id for e in parsed.entries}) == 50
    assert running.get("/draws.atom").content == answer.content  # stable ids, stable bytes
    per_stream = feedparser.parse(running.get("/draws/french.atom").content)
    assert per_stream.entries and all(e.tags[0].term == "french" for e in per_stream.entries)
    assert per_stream.entries[0].id != newest.id


def test_the_pages_link_the_feed(site: tuple[Site, dict]) -> None:
    running, _ = site
    assert '<link rel="alternate" type="application/atom+xml"' in running.get("/draws").text


def test_the_openapi_description_is_valid_and_describes_what_is_served(site: tuple[Site, dict]) -> None:
    from openapi_spec_validator import validate

    running, _ = site
    spec = running.get("/api/openapi.json").json()
    validate(spec)
    served = {
        "/api/draws",
        "/api/draws/{number}",
        "/api/streams",
        "/api/feed",
        "/api/forecast",
        "/draws.atom",
        "/draws/{stream}.atom",
        "/api/openapi.json",
    }
    assert set(spec["paths"]) == served - {"/api/openapi.json"}
    draw_keys = set(spec["components"]["schemas"]["Draw"]["required"])
    assert draw_keys == set(running.get("/api/draws?limit=1").json()[0])
    forecast_keys = set(spec["components"]["schemas"]["Forecast"]["properties"])
    assert set(running.get("/api/forecast?score=500").json()[0]) <= forecast_keys
