"""Modules import at the top; an import inside a function says why on its line or the one above.

Such imports exist for ``hookrun run``'s start-up budget (``tests/executor/test_startup.py``);
anywhere else they only hide a module's dependencies and cycles.
"""

from __future__ import annotations

import ast
import re
import textwrap
from typing import TYPE_CHECKING

import pytest

from tests.helpers.install import PACKAGE_FOLDERS, ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator

FOLDERS = [*PACKAGE_FOLDERS.values(), ROOT / "tests", ROOT / "bench"]
PRAGMA = re.compile(r"(noqa|type: *ignore)(: *[\w, ]*|\[[\w, -]*\])?")


def unexplained(source: str) -> list[str]:
    """Each import inside a function without a comment on its line or the line above."""
    lines = source.splitlines()
    return [f"{node.lineno}: {lines[node.lineno - 1].strip()}"
            for node in _function_imports(ast.parse(source))
            if not _explained(lines, node.lineno)]


def _function_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from (node for node in ast.walk(function)
                        if isinstance(node, ast.Import | ast.ImportFrom))


def _explained(lines: list[str], lineno: int) -> bool:
    above = lines[lineno - 2].strip() if lineno > 1 else ""
    return _reason(lines[lineno - 1]) or (above.startswith("#") and _reason(above))


def _reason(line: str) -> bool:
    """A comment that says something: a bare ``noqa`` or ``type: ignore`` does not."""
    comment = line.partition("#")[2]
    return bool(PRAGMA.sub("", comment).strip(" #"))


@pytest.mark.parametrize(("source", "found"), [
    ("import os\ndef f():\n    return os\n", []),
    ("def f():\n    import os\n    return os\n", ["2: import os"]),
    ("async def f():\n    from os import path\n    return path\n", ["2: from os import path"]),
    ("class C:\n    def f(self):\n        if self:\n            import os\n",
     ["4: import os"]),
    ("def f():\n    import os  # only when asked\n", []),
    ("def f():\n    # only when asked\n    import os\n", []),
    ("def f():\n    x = 1  # a comment elsewhere\n\n    import os\n", ["4: import os"]),
    ("def f():\n    import os  # noqa: F401\n", ["2: import os  # noqa: F401"]),
    ("def f():\n    import os  # type: ignore[import]\n",
     ["2: import os  # type: ignore[import]"]),
    ("def f():\n    # why\n    import os  # noqa: F401\n", []),
], ids=["top", "inside", "async", "method", "same-line", "line-above", "unrelated-comment",
        "noqa-alone", "type-ignore-alone", "noqa-with-a-reason-above"])
def test_an_import_inside_a_function_needs_a_reason(source: str, found: list[str]) -> None:
    assert unexplained(textwrap.dedent(source)) == found


def test_every_import_inside_a_function_says_why() -> None:
    found = {str(path.relative_to(ROOT)): problems
             for folder in FOLDERS for path in sorted(folder.rglob("*.py"))
             if (problems := unexplained(path.read_text(encoding="utf-8")))}
    assert found == {}, "import at the top, or say on the line why it must wait"
