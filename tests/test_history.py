"""History commands on the real 2026-01-21 snapshot, checked against values computed by hand."""

from __future__ import annotations

import io
import json
import shutil
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

import pytest
from helpers import cli, snapshot
from PIL import Image

_FILLED: dict[str, Path] = {}


@pytest.fixture
def filled(env: dict, db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    if "db" not in _FILLED:
        master = tmp_path_factory.mktemp("history") / "crswatch.json"
        cli("check", "--source", snapshot("2026-01-21").as_uri(), env={**env, "CRSWATCH_DB": str(master)}, check=True)
        _FILLED["db"] = master
    shutil.copy(_FILLED["db"], db_path)
    return env


def test_cec_stats_for_2025(filled: dict) -> None:
    # By hand from the snapshot: 15 CEC rounds dated 2025; cut-offs 515 … 547, median 531; 35,850 invitations.
    (row,) = json.loads(
        cli(
            "stats",
            "--stream",
            "cec",
            "--since",
            "2025-01-01",
            "--until",
            "2025-12-31",
            "--format",
            "json",
            env=filled,
            check=True,
        ).stdout
    )
    assert (row["stream"], row["draws"], row["min_crs"], row["median_crs"], row["max_crs"], row["invitations"]) == (
        "cec",
        15,
        515,
        531,
        547,
        35850,
    )
    assert row["last_date"] == "2025-12-16" and row["last_crs"] == 515


def test_stats_never_mix_streams(filled: dict) -> None:
    rows = json.loads(cli("stats", "--format", "json", env=filled, check=True).stdout)
    assert sum(r["draws"] for r in rows) == 393 and len({r["stream"] for r in rows}) == len(rows)
    pnp = next(r for r in rows if r["stream"] == "pnp")
    assert pnp["min_crs"] > 600  # the nomination's 600 points: a different world from CEC


def test_whatif_for_a_510_cec_candidate(filled: dict) -> None:
    rows = json.loads(
        cli(
            "whatif",
            "--score",
            "510",
            "--stream",
            "cec",
            "--since",
            "2025-01-01",
            "--format",
            "json",
            env=filled,
            check=True,
        ).stdout
    )
    assert len(rows) == 17  # 15 in 2025 + #390 and #392 in January 2026; no general draws since
    verdicts = {r["number"]: r["verdict"] for r in rows}
    assert verdicts["392"] == "invited" and verdicts["390"] == "close by 1" and verdicts["387"] == "close by 5"
    assert verdicts["347"] == "below by 37"
    out = cli("whatif", "--score", "510", "--stream", "cec", "--since", "2025-01-01", env=filled, check=True).stdout
    assert out.strip().endswith(
        "invited in 1 of 17 draws since 2025-01-01, close (within 10 points or at the cut-off) in 4; last invited on 2026-01-21 "
        "(#392 Canadian Experience Class, cut-off 509); last close miss on 2026-01-07 (#390, cut-off 511: close by 1)"
    )
    default = cli("whatif", "--score", "510", "--stream", "cec", env=filled, check=True).stdout
    assert "draws since 2024-" in default.strip().splitlines()[-1]  # the last two years, said so


def test_whatif_tie_break_uses_the_alert_rules(filled: dict) -> None:
    def verdict_of(*extra: str) -> str:
        rows = json.loads(
            cli(
                "whatif",
                "--score",
                "509",
                "--stream",
                "cec",
                "--since",
                "2026-01-21",
                *extra,
                "--format",
                "json",
                env=filled,
                check=True,
            ).stdout
        )
        return rows[0]["verdict"]

    assert verdict_of() == "at the cut-off"
    assert verdict_of("--profile-created", "2025-10-01") == "invited"
    assert verdict_of("--profile-created", "2025-11-01") == "just missed"


def test_pool_bands_of_392_add_up_to_the_published_total(filled: dict) -> None:
    rows = {
        r["band"]: r["candidates"]
        for r in json.loads(cli("pool", "392", "--format", "json", env=filled, check=True).stdout)
    }
    fine = ["601-1200", "501-600", "491-500", "481-490", "471-480", "461-470", "451-460", "441-450", "431-440",
            "421-430", "411-420", "401-410", "351-400", "301-350", "0-300"]  # fmt: skip
    assert sum(rows[b] for b in fine) == rows["total"] == 237120
    assert rows["451-500"] == sum(rows[b] for b in fine[2:7])
    out = cli("pool", "--score", "505", env=filled, check=True).stdout
    assert (
        "17,018 candidates at or above the 501-600 band (score 505) as of 2026-01-19; -4,554 since 2026-01-04 (draw #390)"
        in out
    )
    assert "as of 2026-01-19; change since 2026-01-04 (draw #390):" in out  # the comparison's date, named
    assert "\n  491-500 " in out and "\n451-500 " in out  # sub-bands indented under their band


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_chart_writes_a_valid_image(filled: dict, tmp_path: Path, suffix: str) -> None:
    output = tmp_path / f"chart{suffix}"
    out = cli(
        "chart",
        "--stream",
        "cec",
        "--stream",
        "pnp",
        "--since",
        "2024-01-01",
        "--score",
        "505",
        "-o",
        str(output),
        env=filled,
        check=True,
    ).stdout
    data = output.read_bytes()
    assert out == f"wrote {output} ({len(data):,} bytes)\n"
    # the general draws too: open to every candidate, as whatif counts them
    drawn = json.loads(
        cli(
            "draws",
            "--stream",
            "cec",
            "--stream",
            "pnp",
            "--stream",
            "general",
            "--since",
            "2024-01-01",
            "--format",
            "json",
            env=filled,
            check=True,
        ).stdout
    )
    assert any(d["stream"] == "general" for d in drawn)
    if suffix == ".png":
        assert 20_000 < len(data) < 2_000_000
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert image.format == "PNG" and image.size == (1210, 660)
            colors = {color[:3] for _, color in image.getcolors(1_000_000)}
        assert {(0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)} <= colors  # both streams, in their own colours
    else:
        assert 5_000 < len(data) < 2_000_000
        root = ElementTree.fromstring(data)
        svg = "{http://www.w3.org/2000/svg}"
        markers = [
            m
            for group in root.iter(f"{svg}g")
            if group.get("id", "").startswith("PathCollection")
            for m in group
            if m.tag in (f"{svg}path", f"{svg}use")
        ]
        assert len(markers) == len(drawn)  # one marker per draw
        texts = [
            (t.text or "").strip() for t in root.iter(f"{svg}text")
        ]  # text as text (the score's label, haloed, is drawn as outlines)
        streams = Counter(d["stream"] for d in drawn)
        assert {"CRS cut-off", "Draw date", f"cec ({streams['cec']} draws)", f"pnp ({streams['pnp']} draws)"} <= set(
            texts
        )


def test_chart_without_a_file_is_a_terminal_summary(filled: dict) -> None:
    out = cli("chart", "--stream", "cec", "--since", "2025-01-01", env=filled, check=True).stdout
    assert out.startswith("cec") and "→509" in out


def test_filters_with_no_match_and_bad_values(filled: dict) -> None:
    result = cli("stats", "--since", "2030-01-01", env=filled)
    assert result.returncode == 2 and "no stored draws match" in result.stderr
    assert cli("chart", "-o", "chart.gif", env=filled).returncode == 2
    nowhere = cli("chart", "-o", "/nonexistent-dir/chart.png", env=filled)
    assert (nowhere.returncode, nowhere.stderr) == (
        2,
        "crswatch: error: cannot write /nonexistent-dir/chart.png: No such file or directory\n",
    )
    assert cli("pool", "91a", env=filled).returncode == 2  # the oldest rounds published no distribution


def test_the_terminal_chart_says_what_it_shows(filled: dict) -> None:
    out = cli("chart", "--stream", "cec", "--score", "505", env=filled, check=True).stdout
    assert "the last 40 of 55 draws" in out and "general" in out  # the general draws are open to CEC candidates too
    assert "▔ = cut-off at or below 505 (13 of 40)" in out
