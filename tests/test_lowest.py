"""The lowest-versions run's choice of tests (tests/lowest.py, scripts/map-lowest)."""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from lowest import LEFT_OUT, left_out

ROOT = Path(__file__).resolve().parents[1]


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_test_left_out_exists() -> None:
    """A renamed or removed test would leave a stale line: harmless (nothing is left out by it)
    but misleading, so the list is checked against the tests' files."""
    names = left_out()
    assert names, f"{LEFT_OUT.name} lists no test"
    stale, functions = [], {}  # each file parsed once (800 names: 5 s when parsed per name)
    for name in sorted(names):
        file, _, function = name.partition("::")
        path = ROOT / file
        if file not in functions:
            functions[file] = _functions(path) if path.exists() else set()
        if function.split("[")[0] not in functions[file]:
            stale.append(name)
    assert not stale, f"run ./scripts/map-lowest: {LEFT_OUT.name} names tests that no longer exist: {stale}"


def test_the_lowest_versions_run_leaves_them_out_and_keeps_the_others() -> None:
    files = ["tests/test_match.py", "tests/test_parse.py", "tests/test_feed_rules.py", "tests/test_crs_rules.py"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    collected = {}
    for lowest in ("", "1"):
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files],
            env={**env, "CRSWATCH_LOWEST_VERSIONS": lowest},
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        collected[lowest] = {line for line in result.stdout.splitlines() if line.startswith("tests/")}
    listed = collected[""] & left_out()
    assert listed and collected[""] - listed, "the check needs tests of both kinds in these files"
    assert collected["1"] == collected[""] - listed, "the lowest-versions run leaves out exactly the listed ones"


def _map_lowest() -> Any:
    loader = importlib.machinery.SourceFileLoader("map_lowest", str(ROOT / "scripts" / "map-lowest"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("map_lowest", loader))
    loader.exec_module(module)
    return module


def test_the_cover_keeps_every_line_cheapest_first_and_drops_what_became_redundant() -> None:
    cover = _map_lowest()._cover
    lines = {
        "slow-all": {("a.py", 1), ("a.py", 2), ("a.py", 3)},
        "quick-1-2": {("a.py", 1), ("a.py", 2)},
        "quick-3": {("a.py", 3)},
        "quick-1": {("a.py", 1)},
        "none": set(),
    }
    seconds = {"slow-all": 10.0, "quick-1-2": 0.1, "quick-3": 0.1, "quick-1": 0.05, "none": 0.01}
    kept = cover(lines, seconds)
    assert kept == {"quick-1-2", "quick-3"}  # quick-1, taken first, is then run by quick-1-2 too
    assert set().union(*(lines[test] for test in kept)) == set().union(*lines.values())
    assert cover({"only": {("b.py", 7)}}, {"only": 30.0}) == {"only"}, "a line only a slow test runs keeps it"


def test_tests_that_did_not_pass_or_share_a_measured_fixture_are_always_kept() -> None:
    always = _map_lowest()._always
    lines = {"t1": {("a.py", 1)}, "fixture:site": {("web.py", 5)}, "fixture:quiet": set()}
    tests = {
        "t1": {"seconds": 1.0, "passed": True, "fixtures": ["tmp_path"]},
        "skipped": {"seconds": 0.0, "passed": False, "fixtures": []},
        "uses-site": {"seconds": 0.2, "passed": True, "fixtures": ["site", "tmp_path"]},
        "uses-quiet": {"seconds": 0.2, "passed": True, "fixtures": ["quiet"]},
    }
    assert always(lines, tests) == {"skipped", "uses-site"}  # ("quiet" runs no line of crswatch)
