"""The layout's rules, read from the code (every import, those inside functions too): data flows
one way through the stages, the read side reads draws only, the store knows no domain, and every
package of ours is imported under the one installed name, `crswatch` (the stages' top-level
folders are linked into crswatch/)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

STAGES = ("scraper", "subscribers", "notifier")  # in the order data flows
OURS = ("draws", *STAGES, "history", "store", "web", "bot", "crswatch")
#: package → the packages of ours it may import (itself aside)
ALLOWED = {
    "draws": set(),  # the domain core: every package may use it, it uses none of ours
    "scraper": {"draws", "store"},
    "subscribers": {"draws", "store"},
    "notifier": {"draws", "subscribers", "store"},
    "history": {"draws"},
    "store": set(),
    "web": {"draws", *STAGES, "history", "store", "crswatch"},
    "bot": {"draws", *STAGES, "history", "store", "crswatch"},
    "crswatch": {"draws", *STAGES, "history", "store", "web", "bot"},
}


def package_of(module: str) -> str | None:
    """The package of ours an absolute import names (`crswatch.notifier.send` → notifier, a
    module of the shell → crswatch), a stage's bare name as itself, or None (not ours)."""
    first, _, rest = module.partition(".")
    if first == "crswatch":
        second = rest.partition(".")[0]
        return second if second in OURS else "crswatch"
    return first if first in OURS else None


def imports(package: str) -> list[tuple[str, int, str]]:
    """(file, line, package of ours) for every import in a package."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue  # relative imports stay inside the package
            found += [(str(path.relative_to(ROOT)), node.lineno, p) for name in names if (p := package_of(name))]
    return found


#: The schema's history names the stages' tables; a data migration may call a stage's pure rule
#: (0002 re-keys channels with `subscribers.identity`), and Alembic's environment compares the
#: migrations with the tables the stages declare.  The engine itself (store/*.py) may not.
EXCEPTIONS = {("store/migrations/", "subscribers"), ("store/migrations/declared.py", "notifier")}


@pytest.mark.parametrize("package", ALLOWED)
def test_each_package_imports_only_what_the_layout_allows(package: str) -> None:
    wrong = [f"{file}:{line} imports {name}" for file, line, name in imports(package)
             if name != package and name not in ALLOWED[package] and not any(file.startswith(f) and name == n for f, n in EXCEPTIONS)]  # fmt: skip
    assert not wrong, "\n".join(wrong)


def test_the_rules_are_checked_for_every_package() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(ALLOWED)


def test_one_name_is_installed_and_the_stages_are_linked_under_it() -> None:
    """A stage is `crswatch.<stage>` wherever it is imported (tests and benches too): a bare
    `notifier` would load the same files a second time, as other modules with other classes."""
    assert {p.name for p in (ROOT / "crswatch").iterdir() if p.is_symlink()} == set(OURS) - {"crswatch"}
    for stage in set(OURS) - {"crswatch"}:
        assert (ROOT / "crswatch" / stage).resolve() == (ROOT / stage).resolve()
    bare = []
    for path in sorted(p for folder in (*OURS, "tests", "bench") for p in (ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            bare += [
                f"{path.relative_to(ROOT)}:{node.lineno} {n}"
                for n in names
                if n.split(".")[0] in set(OURS) - {"crswatch"}
            ]
    assert not bare, "import these as crswatch.<stage>:\n" + "\n".join(bare)


def test_every_benchmark_imports() -> None:
    """The benchmarks run on demand only, so nothing else would notice an import they lost (a
    module moved, a helper renamed): load each, in one fresh interpreter, as `python bench/x.py`
    would (its folder first on the path) but without running it, each from its file under a name
    of its own (bench/web.py is not the `web` stage, bench/telegram_alerts.py is named apart from python-telegram-bot)."""
    code = """import importlib.util, pathlib, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.py")):
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    print(path.name)
"""
    result = subprocess.run([sys.executable, "-c", code, str(ROOT / "bench"), str(ROOT / "tests")],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == sorted(p.name for p in (ROOT / "bench").glob("*.py"))


def test_a_broken_rule_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "scraper").mkdir()
    (tmp_path / "scraper" / "bad.py").write_text(
        "def f():\n    from crswatch.notifier.outbox import queue\n    import crswatch.cli\n"
    )
    monkeypatch.setattr("test_architecture.ROOT", tmp_path)
    assert [name for _, _, name in imports("scraper")] == ["notifier", "crswatch"]


def test_the_architecture_page_draws_the_tree() -> None:
    section = (ROOT / "docs" / "architecture.md").read_text().split("\n## ", 1)[0]
    for package in ALLOWED:
        assert f"{package}/" in section, package


def _modules_imported(package: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found += [(str(path.relative_to(ROOT)), node.module)] + [
                    (str(path.relative_to(ROOT)), f"{node.module}.{a.name}") for a in node.names
                ]
            elif isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), a.name) for a in node.names]
    return found


@pytest.mark.parametrize("package", [p for p in ALLOWED if p != "store"])
def test_no_package_reads_another_stages_tables(package: str) -> None:
    """A stage's tables are read and written through that stage's functions only."""
    wrong = [f"{file} imports {module}" for file, module in _modules_imported(package)
             if module.endswith(".tables") and package_of(module) != package]  # fmt: skip
    assert not wrong, "\n".join(wrong)


def _module_graph() -> dict[str, set[str]]:
    """Module → the modules of ours it imports (every import, those inside functions too; an
    import of a package's own parent `__init__` is not a circle)."""
    modules: dict[str, Path] = {}
    for package in OURS:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if package != "crswatch":
                parts.insert(0, "crswatch")  # the name it is imported as
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        here = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            targets |= {r for n in names if (r := resolve(n)) and r != module and not module.startswith(r + ".")}
        graph[module] = targets
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_import_circle_between_modules() -> None:
    circles = _circles(_module_graph())
    assert not circles, "import circles: " + "; ".join(" ↔ ".join(c) for c in circles)


def test_a_circle_is_found() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


MAX_MODULE, MAX_FUNCTION = 300, 60  # lines, as `ruff format` leaves them (CI checks the formatting)


def _long_parts(path: Path) -> list[str]:
    """A module over MAX_MODULE lines, and each function over MAX_FUNCTION, counted from its first
    decorator (a command's options are part of it) to its last line."""
    text = path.read_text()
    name = str(path.relative_to(ROOT))
    found = [f"{name}: {len(text.splitlines())} lines"] if len(text.splitlines()) > MAX_MODULE else []
    for node in ast.walk(ast.parse(text, name)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if (length := (node.end_lineno or node.lineno) - first + 1) > MAX_FUNCTION:
                found.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    return found


@pytest.mark.parametrize("package", OURS)
def test_modules_and_functions_stay_short_enough_to_read(package: str) -> None:
    """Every module of ours fits in MAX_MODULE lines and every function in MAX_FUNCTION: past that,
    a module holds two subjects and a function two steps, each of which deserves a name."""
    found = [part for path in sorted((ROOT / package).rglob("*.py")) for part in _long_parts(path)]
    assert not found, "split these (a module into rooms, a function into named steps):\n" + "\n".join(found)
