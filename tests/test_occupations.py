"""Occupations: IRCC's category NOC lists as dated data (draws/categories/*.toml), an operator's
[occupations] overrides, `crswatch streams --noc` and `subscribe --noc` through the real command."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path

import pytest
from helpers import ROOT, cli

from crswatch.config import ConfigError
from crswatch.config_load import load_config
from crswatch.draws.occupations import OccupationsError, builtin, check_code, match, parse, version_on
from crswatch.draws.streams import STREAMS

PHYSICIAN, MANAGER, NOWHERE = (
    "31102",
    "00012",
    "11100",
)  # a family doctor, a senior manager (finance), financial auditors
MAIL = "mailto://127.0.0.1:2525?from=crswatch@example.com&to={}@example.com"


@pytest.mark.parametrize(("noc", "day", "streams"), [
    (PHYSICIAN, "2025-06-01", ("healthcare",)),  # the 2025 lists: no physicians category yet
    (PHYSICIAN, "2025-12-08", ("healthcare", "physicians")),  # announced that day
    (PHYSICIAN, "2026-03-01", ("healthcare", "physicians")),
    ("31101", "2026-03-01", ("healthcare", "physicians")),  # surgeons
    (MANAGER, "2025-06-01", ()),
    (MANAGER, "2026-02-18", ("managers",)),
    ("00015", "2026-03-01", ("managers",)),
    ("00011", "2026-03-01", ()),  # senior government managers: not on the list
    ("40042", "2026-03-01", ("military",)),
    ("43204", "2026-03-01", ("military",)),
    ("72600", "2025-06-01", ()),  # pilots: Transport was retired on 2025-02-27...
    ("72600", "2026-03-01", ("transport",)),  # ... and a new Transport category made on 2026-02-18
    ("41200", "2026-03-01", ("researchers",)),
    ("21220", "2026-03-01", ("stem",)),
    ("21211", "2026-03-01", ()),  # data scientists left STEM in 2025
    ("72200", "2026-03-01", ("trades",)),
    ("41221", "2026-03-01", ("education",)),
    ("41300", "2026-03-01", ("healthcare",)),  # social workers joined in 2025
    ("32200", "2026-03-01", ()),  # acupuncturists left in 2025
    (NOWHERE, "2026-03-01", ()),
])  # fmt: skip
def test_the_lists_in_force_on_a_day(noc: str, day: str, streams: tuple[str, ...]) -> None:
    assert match(noc, date.fromisoformat(day)).streams == streams


def test_every_version_names_what_it_could_not_confirm() -> None:
    versions = builtin()
    assert [v.since.isoformat() for v in versions] == ["2025-02-27", "2025-12-08", "2026-02-18"]
    for v in versions:
        assert v.categories["agriculture"].codes == frozenset() and not v.categories["agriculture"].confirmed
        for category in v.categories.values():
            assert category.code in STREAMS or category.code == "researchers", category.code
            assert category.confirmed or category.note, (v.since, category.code)  # an unconfirmed list says why
            assert category.codes or not category.confirmed
    newest = version_on(date(2026, 12, 3))
    assert match(NOWHERE, date(2026, 12, 3)).unconfirmed == ("healthcare", "stem", "trades", "education", "agriculture")
    assert newest.categories["physicians"].confirmed and newest.categories["managers"].confirmed


def test_every_list_cites_its_sources() -> None:
    for file in sorted((ROOT / "draws" / "categories").glob("*.toml")):
        data = tomllib.loads(file.read_text())
        assert file.name == f"{data['since']}.toml"
        for code, table in data.items():
            if isinstance(table, dict):
                assert table.get("sources", "").strip(), f"{file.name} [{code}] names no source"


@pytest.mark.parametrize("text", ["3110", "311022", "abcde", "", "31 102", "٣١١٠٢", "-1102"])
def test_a_code_that_is_not_five_digits_is_refused(text: str) -> None:
    with pytest.raises(OccupationsError, match="5 digits"):
        check_code(text)


def test_a_code_is_read_with_spaces_around_it() -> None:
    assert check_code(" 31102 ") == "31102" == check_code("３１１０２")  # a phone's fullwidth digits


def test_no_lists_before_the_oldest_version() -> None:
    with pytest.raises(OccupationsError, match="oldest crswatch knows are in force from 2025-02-27"):
        match(PHYSICIAN, date(2024, 12, 31))


@pytest.mark.parametrize(("text", "error"), [
    ('title = "x"\n[stem]\nlabel = "STEM"\ncodes = []\n', "since must be a date"),
    ('since = 2027-01-01\n[stem]\nlabel = "STEM"\ncodes = ["2122"]\n', "'2122' is not a 5-digit NOC 2021 code"),
    ('since = 2027-01-01\n[stem]\nlabel = "STEM"\ncodes = "21220"\n', "must be a list"),
    ('since = 2027-01-01\n[stem]\nlabel = "STEM"\ncodes = []\nsource = "x"\n', "unknown key 'source'"),
    ('since = 2027-01-01\n[stem]\ncodes = []\n', "needs label"),
    ("since = 2027-01-01\n[stem\n", "not valid TOML"),
])  # fmt: skip
def test_a_bad_version_file_is_named_with_its_key(text: str, error: str) -> None:
    with pytest.raises(OccupationsError, match=error):
        parse(text, "mine.toml")


def test_an_operator_list_replaces_the_shipped_one() -> None:
    day = date(2026, 3, 1)
    assert match(PHYSICIAN, day, {"healthcare": ["99999"]}).streams == ("physicians",)
    assert match("99999", day, {"healthcare": ["99999"]}).streams == ("healthcare",)
    found = match("31120", day, {"pharmacists": ["31120"]}, {"pharmacists": "Pharmacists"})
    assert found.streams == ("healthcare", "pharmacists")
    assert found.version.categories["pharmacists"].origin == "configuration"
    assert (
        "healthcare" in match(NOWHERE, day).unconfirmed
        and "healthcare" not in match(NOWHERE, day, {"healthcare": ["1" * 5]}).unconfirmed
    )


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_the_configuration_reads_occupations(tmp_path: Path) -> None:
    path = _config(tmp_path, '[streams]\n"Pharmacists (Version 1)" = { code = "pharmacists", label = "Pharmacists" }\n\n'
                             '[occupations]\nhealthcare = ["31102", "31301"]\npharmacists = ["31120"]\n')  # fmt: skip
    config = load_config(path)
    assert config.occupations == {"healthcare": ("31102", "31301"), "pharmacists": ("31120",)}
    assert config.masked()["occupations"] == {"healthcare": ["31102", "31301"], "pharmacists": ["31120"]}


@pytest.mark.parametrize(("text", "error"), [
    ('[occupations]\nhealthcare = ["3110"]\n', "[occupations] healthcare: '3110' is not a 5-digit NOC 2021 code"),
    ('[occupations]\nhealthcare = "31102"\n', "[occupations] healthcare must be a list of 5-digit NOC codes"),
    ('[occupations]\nhealthcare = [31102]\n', "must be a list of 5-digit NOC codes in quotes"),
    ('[occupations]\nbogus = ["31102"]\n', "'bogus' is not a category stream"),
    ('[occupations]\nother = ["31102"]\n', "'other' is not a category stream"),
    ('occupations = ["31102"]\n', "[occupations] must be a table"),
])  # fmt: skip
def test_a_bad_override_is_a_clear_error(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, text))
    assert error in str(caught.value)


def test_a_bad_override_stops_the_command_in_one_line(env: dict[str, str], tmp_path: Path) -> None:
    Path(env["CRSWATCH_CONFIG"]).write_text('[occupations]\nhealthcare = ["3110"]\n')
    result = cli("streams", "--noc", PHYSICIAN, env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert (
        result.stderr.count("\n") == 1
        and result.stderr.startswith("crswatch: error: ")
        and "'3110' is not a 5-digit" in result.stderr
    )


# --------------------------------------------------------------------------- the command line


def test_streams_noc_for_a_physician(env: dict[str, str]) -> None:
    out = cli("streams", "--noc", PHYSICIAN, "--on", "2026-03-01", env=env, check=True).stdout.splitlines()
    assert out[0].split() == ["code", "label", "list"]
    assert out[2].startswith("healthcare ") and out[2].endswith("not confirmed")
    assert (
        out[3].startswith("physicians ")
        and "Physicians with Canadian work experience" in out[3]
        and out[3].endswith(" confirmed")
    )
    assert (
        out[5]
        == "NOC 31102 qualifies for 2 categories on IRCC's lists in force since 2026-02-18 (2026 categories (announced 2026-02-18))."
    )
    assert out[6].startswith("Not confirmed, and may also hold it: stem trades education agriculture")


def test_streams_noc_for_a_senior_manager_as_json(env: dict[str, str]) -> None:
    out = json.loads(
        cli("streams", "--noc", MANAGER, "--on", "2026-03-01", "--format", "json", env=env, check=True).stdout
    )
    assert out["noc"] == MANAGER and out["since"] == "2026-02-18"
    assert [(c["code"], c["list"], c["subscribable"]) for c in out["categories"]] == [("managers", "confirmed", True)]
    assert out["unconfirmed"] == ["healthcare", "stem", "trades", "education", "agriculture"]


def test_streams_noc_for_a_code_in_no_category(env: dict[str, str]) -> None:
    result = cli("streams", "--noc", NOWHERE, "--on", "2026-03-01", env=env, check=True)
    assert result.stdout.splitlines()[0] == ("NOC 11100 is on no category list (IRCC's lists in force since 2026-02-18 (2026 categories "
                                             "(announced 2026-02-18))); the program, general and French-language draws do not depend on the occupation.")  # fmt: skip
    assert result.stderr == ""


def test_streams_noc_with_the_operators_list(env: dict[str, str]) -> None:
    Path(env["CRSWATCH_CONFIG"]).write_text('[occupations]\ntransport = ["73300"]\n')  # truck drivers, as in 2023
    out = json.loads(
        cli("streams", "--noc", "73300", "--on", "2026-03-01", "--format", "json", env=env, check=True).stdout
    )
    assert [c["code"] for c in out["categories"]] == ["transport"]
    assert (
        json.loads(
            cli("streams", "--noc", "72600", "--on", "2026-03-01", "--format", "json", env=env, check=True).stdout
        )["categories"]
        == []
    )


@pytest.mark.parametrize(
    "args", [("streams", "--noc", "3110"), ("streams", "--noc", "physician"), ("streams", "--on", "2026-03-01")]
)
def test_a_malformed_code_is_one_line_and_exit_2(env: dict[str, str], args: tuple[str, ...]) -> None:
    result = cli(*args, env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert (
        result.stderr.count("\n") == 1
        and result.stderr.startswith("crswatch: error: ")
        and "Traceback" not in result.stderr
    )


def _streams(env: dict[str, str]) -> dict[str, list[str]]:
    return {
        s["name"]: s["streams"] for s in json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)
    }


def test_subscribe_noc_adds_the_categories_and_says_which(env: dict[str, str]) -> None:
    doctor = cli(
        "subscribe",
        "--score",
        "455",
        "--name",
        "doctor",
        "--noc",
        PHYSICIAN,
        "--notify",
        MAIL.format("doctor"),
        env=env,
        check=True,
    )
    assert "NOC 31102: added healthcare physicians (IRCC's category lists in force since 2026-02-18)" in doctor.stderr
    manager = cli("subscribe", "--score", "470", "--name", "manager", "--stream", "cec", "--noc", MANAGER, "--notify", MAIL.format("manager"),
                  env=env, check=True)  # fmt: skip
    assert "NOC 00012: added managers (" in manager.stderr
    nowhere = cli("subscribe", "--score", "480", "--name", "auditor", "--stream", "cec", "--noc", NOWHERE, "--notify", MAIL.format("auditor"),
                  env=env, check=True)  # fmt: skip
    assert (
        "NOC 11100 is on none of IRCC's category lists in force since 2026-02-18: no category added" in nowhere.stderr
    )
    assert _streams(env) == {
        "doctor": ["cec", "fsw", "fst", "healthcare", "physicians"],
        "manager": ["cec", "managers"],
        "auditor": ["cec"],
    }
    again = cli("subscribe", "--score", "455", "--name", "doctor", "--stream", "healthcare", "--noc", PHYSICIAN, "--notify", MAIL.format("doctor"),
                env=env, check=True)  # fmt: skip
    assert "NOC 31102: added physicians (" in again.stderr and _streams(env)["doctor"] == ["healthcare", "physicians"]
    assert PHYSICIAN not in json.dumps(
        json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)
    )  # the code is not kept


def test_subscribe_with_a_malformed_code_stores_nothing(env: dict[str, str]) -> None:
    result = cli("subscribe", "--score", "455", "--noc", "3110", "--notify", MAIL.format("x"), env=env)
    assert result.returncode == 2 and result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr.startswith("crswatch: error: NOC code '3110' is not a NOC 2021 code")
    assert _streams(env) == {}


# --------------------------------------------------------------------------- the web form


@pytest.fixture
def site(env: dict, smtp):  # type: ignore[no-untyped-def]
    from pages import Site

    server = Site(env, smtp)
    yield server
    server.close()


def _occupation_said(page: str) -> list[str]:
    from bs4 import BeautifulSoup

    box = BeautifulSoup(page, "html.parser").find(id="occupation")
    return [p.get_text(" ", strip=True) for p in box.find_all("p")] if box else []


def test_the_form_adds_a_physicians_categories(site, env: dict) -> None:  # type: ignore[no-untyped-def]
    answer = site.sign_up("doc@example.com", score=455, streams=("cec",), noc=PHYSICIAN)
    assert answer.status_code == 200
    said = _occupation_said(answer.text)
    assert said[0] == ("Your occupation (NOC 31102) is on IRCC's lists for: Healthcare (and social services) occupations category; "
                       "Physicians with Canadian work experience category. These categories were added to your alerts.")  # fmt: skip
    site.confirm(site.confirmation_link("doc@example.com"))
    assert _streams_of(env) == [["cec", "healthcare", "physicians"]]


def test_the_form_with_a_senior_managers_code(site, env: dict) -> None:  # type: ignore[no-untyped-def]
    answer = site.sign_up("cadre@example.com", score=470, streams=("cec", "managers"), noc=MANAGER)
    assert _occupation_said(answer.text)[0] == ("Your occupation (NOC 00012) is on IRCC's lists for: Senior managers with Canadian work "
                                                "experience category, which you had already chosen.")  # fmt: skip
    site.confirm(site.confirmation_link("cadre@example.com"))
    assert _streams_of(env) == [["cec", "managers"]]
    answer = site.sign_up("chef@example.com", score=470, streams=("cec",), noc=" 00015 ")
    assert "These categories were added to your alerts." in _occupation_said(answer.text)[0]
    site.confirm(site.confirmation_link("chef@example.com"))
    assert sorted(_streams_of(env)) == [["cec", "managers"], ["cec", "managers"]]


def test_the_form_accepts_a_code_in_no_category(site, env: dict) -> None:  # type: ignore[no-untyped-def]
    answer = site.sign_up("audit@example.com", score=480, streams=("cec",), noc=NOWHERE)
    assert answer.status_code == 200
    said = _occupation_said(answer.text)
    assert said[0] == ("Your occupation (NOC 11100) is on none of IRCC's category lists: no category was added. "
                       "The program draws do not depend on it.")  # fmt: skip
    assert said[1].startswith(
        "Some lists could not be confirmed and may also hold it: Healthcare (and social services)"
    )
    site.confirm(site.confirmation_link("audit@example.com"))
    assert _streams_of(env) == [["cec"]]


def test_the_form_refuses_a_malformed_code_and_stores_nothing(site, env: dict) -> None:  # type: ignore[no-untyped-def]
    from bs4 import BeautifulSoup

    answer = site.sign_up("typo@example.com", score=480, streams=("cec",), noc="3110")
    assert answer.status_code == 400
    problems = [li.get_text(strip=True) for li in BeautifulSoup(answer.text, "html.parser").select("#problems li")]
    assert problems == ["the occupation code must be the 5 digits of a NOC 2021 code (like 31102), or left empty"]
    assert 'value="3110"' in answer.text and not site.smtp.messages
    assert json.loads(cli("status", "--format", "json", env=env).stdout)["pending_sign_ups"] == 0


def _streams_of(env: dict) -> list[list[str]]:
    return [s["streams"] for s in json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)]


def test_a_category_without_a_stream_is_named_not_added(env: dict) -> None:
    result = cli(
        "subscribe",
        "--score",
        "480",
        "--name",
        "prof",
        "--noc",
        "41200",
        "--notify",
        MAIL.format("prof"),
        env=env,
        check=True,
    )
    assert (
        "NOC 41200 is only on researchers (IRCC's category lists in force since 2026-02-18), which crswatch has no stream for yet: "
        "no category added" in result.stderr
    )
    assert _streams(env) == {"prof": ["cec", "fsw", "fst"]}
    Path(env["CRSWATCH_CONFIG"]).write_text(
        '[streams]\n"Researchers with Canadian work experience" = { code = "researchers", label = "Researchers" }\n'
    )
    again = cli(
        "subscribe",
        "--score",
        "480",
        "--name",
        "prof",
        "--noc",
        "41200",
        "--notify",
        MAIL.format("prof"),
        env=env,
        check=True,
    )
    assert "NOC 41200: added researchers (" in again.stderr and _streams(env) == {
        "prof": ["cec", "fsw", "fst", "researchers"]
    }
