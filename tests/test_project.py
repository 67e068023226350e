"""The project's tooling: pins and bounds, shipped files, the editable install, CI = the README."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from tests.helpers.install import PACKAGE_FOLDERS, PYPROJECT, ROOT, not_installed

SETUPTOOLS: dict[str, Any] = PYPROJECT["tool"]["setuptools"]


def folder(package: str) -> Path:
    """The folder that holds a package (``hookswarm.lib.swarm`` -> ``lib/swarm``)."""
    top = max((p for p in PACKAGE_FOLDERS if package == p or package.startswith(p + ".")), key=len)
    return PACKAGE_FOLDERS[top] / Path(*package[len(top):].split(".")[1:])


def test_dev_tools_are_pinned_exactly() -> None:
    loose = [r for r in PYPROJECT["project"]["optional-dependencies"]["dev"]
             if [s.operator for s in Requirement(r).specifier] != ["=="]]
    assert loose == []


def test_runtime_dependencies_are_bounded_above() -> None:
    unbounded = [r for r in PYPROJECT["project"]["dependencies"]
                 if not {s.operator for s in Requirement(r).specifier} & {"<", "<=", "==", "~="}]
    assert unbounded == []


@pytest.mark.parametrize("package", sorted(PACKAGE_FOLDERS))
def test_each_package_ships_py_typed(package: str) -> None:
    assert "py.typed" in SETUPTOOLS["package-data"].get(package, [])
    assert (folder(package) / "py.typed").is_file()


def test_every_package_data_pattern_matches_a_file() -> None:
    dead = [(package, pattern) for package, patterns in SETUPTOOLS["package-data"].items()
            for pattern in patterns if not any(folder(package).glob(pattern))]
    assert dead == []


def test_modules_the_install_would_not_load_from_their_folder_are_named(tmp_path: Path) -> None:
    assert not_installed(PACKAGE_FOLDERS) == []
    copy = tmp_path / "lib"
    copy.mkdir()
    for name in ("__init__.py", "errors.py", "brand_new.py"):
        (copy / name).write_text("")
    assert not_installed({"hookswarm.lib": copy}) == [
        "hookswarm.lib", "hookswarm.lib.brand_new", "hookswarm.lib.errors"]


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = readme.partition("## The two commands")[2].partition("```sh\n")[2].partition("```")[0]
    return [line.partition("  #")[0].strip() for line in block.splitlines()
            if line and not line.startswith("#")]


def test_ci_runs_exactly_the_readme_test_command_with_the_checks_first() -> None:
    [_, test_command] = readme_commands()
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()
    steps = [step.strip().removeprefix(".venv/bin/") for step in test_command.split("&&")]
    assert steps[1:] == ["ruff check .", "mypy", "lint-imports", "python -m pytest -q"]


@pytest.mark.parametrize(("test_file", "option", "complaint"), [
    ("@pytest.mark.slowish\ndef test_x():\n    pass\n", [], "'slowish' not found in `markers`"),
    ("def test_x():\n    pass\n", ["-o", "no_such_key=1"], "Unknown config option: no_such_key"),
], ids=["unknown-marker", "unknown-ini-key"])
def test_pytest_rejects_unknown_markers_and_config_keys(
        tmp_path: Path, test_file: str, option: list[str], complaint: str) -> None:
    (tmp_path / "test_x.py").write_text("import pytest\n\n" + test_file)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), *option,
         str(tmp_path / "test_x.py")],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert complaint in proc.stdout + proc.stderr
