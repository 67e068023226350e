"""Whether the installed hookswarm is this working tree.

``install.sh --dev`` makes a strict editable install, which links the modules one by one: a
module added since then is missing until the script runs again.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

ROOT = Path(__file__).resolve().parent.parent.parent
# The hookrun this interpreter's install put beside it: what the tests run and install.
HOOKRUN = str(Path(sys.executable).with_name("hookrun"))
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGE_FOLDERS: dict[str, Path] = {
    package: ROOT / folder
    for package, folder in PYPROJECT["tool"]["setuptools"]["package-dir"].items()}


def modules_in(folders: Mapping[str, Path]) -> Iterator[tuple[str, Path]]:
    """Every module under the folders, by its import name."""
    for package, folder in folders.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            yield ".".join([package, *(p for p in parts if p != "__init__")]), path


def not_installed(folders: Mapping[str, Path]) -> list[str]:
    """The modules under the folders that ``import`` would not load from there."""
    return [name for name, path in modules_in(folders)
            if (spec := importlib.util.find_spec(name)) is None or spec.origin is None
            or Path(spec.origin).resolve() != path.resolve()]
