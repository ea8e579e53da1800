"""The lowest-versions run's choice of tests (tests/lowest.py, scripts/map-lowest)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

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
    stale = []
    for name in sorted(names):
        file, _, function = name.partition("::")
        path = ROOT / file
        if not path.exists() or function.split("[")[0] not in _functions(path):
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
