"""The lowest-versions run keeps the tests that run crswatch's lines; the rest it leaves out.

The second run of the suite (scripts/test, with the lowest versions pyproject.toml allows) is
there to prove the ranges true: that every line of crswatch that calls a library works with the
oldest version allowed. A test adds nothing to that when every line of crswatch it runs is also
run by a test the run keeps. `scripts/map-lowest` measures which lines each test runs (coverage.py,
one context per test, in the test process and in every `crswatch` process it starts) and picks a
set of tests that runs every line the whole suite runs, cheapest first; the others are written to
`LEFT_OUT`. A test that is not in that file (a new one) is always kept.

Two modes, each set by an environment variable:
- CRSWATCH_LOWEST_VERSIONS=1 (scripts/test's second run): the tests in LEFT_OUT are deselected;
- CRSWATCH_COVERAGE_MAP=<folder> (scripts/map-lowest): each test's lines go to that folder, under
  the test's node id, with its duration."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

LEFT_OUT = Path(__file__).with_name("lowest-leaves-out.txt")


def left_out() -> frozenset[str]:
    if not LEFT_OUT.exists():
        return frozenset()
    lines = (line.strip() for line in LEFT_OUT.read_text().splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def header() -> list[str]:
    """The line the lowest-versions run starts with: how many tests it leaves out, and why."""
    if not os.environ.get("CRSWATCH_LOWEST_VERSIONS"):
        return []
    return [f"lowest versions: {len(left_out())} tests left out, whose lines of crswatch others run ({LEFT_OUT.name})"]


def deselect(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the tests whose lines others run (CRSWATCH_LOWEST_VERSIONS=1 only)."""
    if not os.environ.get("CRSWATCH_LOWEST_VERSIONS"):
        return
    names = left_out()
    kept = [item for item in items if item.nodeid not in names]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.nodeid in names])
        items[:] = kept


class CoverageMap:
    """Measure one context per test (CRSWATCH_COVERAGE_MAP): this process through coverage.py's
    API, and every Python process a test starts through the `.pth` file scripts/map-lowest
    installs, which starts coverage.py with the configuration COVERAGE_PROCESS_START names. That
    file (one per worker) is rewritten for each test, naming the test as its context: a process
    started from an environment copied earlier still counts for the test running when it starts.

    A fixture wider than a test (a module's `serve`, say) is measured under its own context,
    `fixture:NAME`, and so is every process it starts, whose lines then serve each test that uses
    it: scripts/map-lowest keeps all of those tests. Each test's outcome is kept too: only a test
    that passed here can be left out (one skipped here may run elsewhere)."""

    def __init__(self, folder: Path) -> None:
        import coverage

        self.folder = folder
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.cov = coverage.Coverage(config_file=str(self._config("")), data_suffix=True)
        self.tests: dict[str, dict[str, Any]] = {}  # node id -> its seconds, whether it passed, its fixtures
        self.current = ""

    def _config(self, context: str) -> Path:
        path = self.folder / f"config-{self.worker}.toml"
        run = {
            "data_file": str(self.folder / ".coverage"),
            "parallel": True,
            "source_pkgs": ["crswatch"],
            "context": context,
            "patch": ["_exit"],  # the fork server's children end with os._exit
        }
        lines = [f"{key} = {json.dumps(value)}" for key, value in run.items()]
        path.write_text("[tool.coverage.run]\n" + "\n".join(lines) + "\n")
        return path

    def _measure_as(self, context: str) -> None:
        if context:
            os.environ["COVERAGE_PROCESS_START"] = str(self._config(context))
        else:
            os.environ.pop("COVERAGE_PROCESS_START", None)
        self.cov.switch_context(context)

    def start(self) -> None:
        self.cov.start()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        self.current = item.nodeid
        self.tests[item.nodeid] = {
            "seconds": 0.0,
            "passed": True,
            "fixtures": sorted(getattr(item, "fixturenames", [])),
        }
        self._measure_as(item.nodeid)
        try:
            return (yield)
        finally:
            self.current = ""
            self._measure_as("")

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any]) -> Iterator[Any]:
        wide = fixturedef.scope != "function"
        if wide:
            self._measure_as(f"fixture:{fixturedef.argname}")
        try:
            return (yield)
        finally:
            if wide:
                self._measure_as(self.current)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test = self.tests[report.nodeid]  # (made when its protocol began)
        test["seconds"] += report.duration
        test["passed"] = test["passed"] and report.passed  # (skipped is not passed)

    def stop(self) -> None:
        self.cov.stop()
        self.cov.save()
        (self.folder / f"tests-{self.worker}.json").write_text(json.dumps(self.tests))


def measure(config: pytest.Config) -> None:
    """Start the map in a process that runs tests (an xdist worker, or pytest without -n)."""
    folder = os.environ.get("CRSWATCH_COVERAGE_MAP")
    if not folder or (config.getoption("numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ):
        return
    recorder = CoverageMap(Path(folder))
    config.pluginmanager.register(recorder, "crswatch-coverage-map")
    recorder.start()
    config.add_cleanup(recorder.stop)
