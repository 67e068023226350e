"""One-way layers (the import-linter contract in pyproject.toml) and no import cycles."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import grimp
import pytest

from tests.helpers.install import PACKAGE_FOLDERS, PYPROJECT, ROOT

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

ROOT_PACKAGES: list[str] = PYPROJECT["tool"]["importlinter"]["root_packages"]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def cycles(imports: Mapping[str, Iterable[str]]) -> set[frozenset[str]]:
    """The groups of modules that import one another, directly or round a loop (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()
    for start in imports:
        if start not in index:
            _visit(start, imports, index, low, stack, found)
    return found


def _visit(start: str, imports: Mapping[str, Iterable[str]], index: dict[str, int],
           low: dict[str, int], stack: list[str], found: set[frozenset[str]]) -> None:
    work = [(start, iter(imports.get(start, ())))]
    index[start] = low[start] = len(index)
    stack.append(start)
    while work:
        module, targets = work[-1]
        target = next(targets, None)
        if target is None:
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                _pop_group(module, imports, stack, found)
        elif target not in index:
            index[target] = low[target] = len(index)
            stack.append(target)
            work.append((target, iter(imports.get(target, ()))))
        elif target in stack:
            low[module] = min(low[module], index[target])


def _pop_group(module: str, imports: Mapping[str, Iterable[str]], stack: list[str],
               found: set[frozenset[str]]) -> None:
    group = set(stack[stack.index(module):])
    del stack[stack.index(module):]
    if len(group) > 1 or module in imports.get(module, ()):
        found.add(frozenset(group))


@pytest.mark.parametrize(("imports", "expected"), [
    ({}, set()),
    ({"a": ["b"], "b": ["c"], "c": []}, set()),
    ({"a": ["a"]}, {frozenset({"a"})}),
    ({"a": ["b"], "b": ["a"]}, {frozenset({"a", "b"})}),
    ({"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": []}, {frozenset({"a", "b", "c"})}),
    ({"a": ["b"], "b": ["a"], "c": ["d"], "d": ["c", "a"]},
     {frozenset({"a", "b"}), frozenset({"c", "d"})}),
    ({"x": ["a"], "a": ["b", "c"], "b": ["a"], "c": ["x"]}, {frozenset({"x", "a", "b", "c"})}),
], ids=["none", "chain", "self", "pair", "triangle-and-tail", "two-groups", "nested-loops"])
def test_cycles_finds_every_group_of_modules_that_import_each_other(
        imports: dict[str, list[str]], expected: set[frozenset[str]]) -> None:
    assert cycles(imports) == expected


def package_imports() -> dict[str, set[str]]:
    graph = grimp.build_graph(*ROOT_PACKAGES, cache_dir=None)
    return {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}


def test_no_module_imports_itself_round_a_loop() -> None:
    imports = package_imports()
    found = [sorted(f"{a} -> {b}" for a in group for b in imports[a] if b in group)
             for group in cycles(imports)]
    assert found == [], "import cycles: break them (a module of their own for what both need)"


def copy_of_the_package(into: Path) -> Path:
    """The package folders laid out under their import names, as import-linter reads them."""
    for package, base in PACKAGE_FOLDERS.items():
        shutil.copytree(base, into / Path(*package.split(".")),
                        ignore=shutil.ignore_patterns("__pycache__"))
    return into


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINT_IMPORTS, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          capture_output=True, text=True, cwd=tree, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1"})


def test_the_layer_contract_holds_for_the_package(tmp_path: Path) -> None:
    proc = lint_imports(copy_of_the_package(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_import_from_settings_into_executor_breaks_the_contract(tmp_path: Path) -> None:
    tree = copy_of_the_package(tmp_path)
    module = tree / "hookswarm" / "settings" / "edit.py"
    module.write_text(module.read_text() + "\nimport hookswarm.executor.records  # noqa\n")
    proc = lint_imports(tree)
    assert proc.returncode == 1
    assert "hookswarm.settings.edit -> hookswarm.executor.records" in proc.stdout
