"""Ownership globs: overlap, matching, anchoring, symlinks."""

from __future__ import annotations

import os
from typing import Any

import pytest

from hookswarm.lib.swarm.ownership import (
    absolute_globs,
    globs_overlap,
    may_write,
    overlapping,
    owned,
)


@pytest.mark.parametrize(("a", "b", "overlap"), [
    ("/p/src/**", "/p/src/a.py", True),
    ("/p/src/**", "/p/src/deep/er/a.py", True),
    ("/p/src/**", "/p/tests/a.py", False),
    ("/p/*.py", "/p/src/a.py", False),
    ("/p/*.py", "/p/a.py", True),
    ("/p/**/*.py", "/p/a.py", True),
    ("/p/**/*.py", "/p/a.txt", False),
    ("/p/a[0-9].py", "/p/a[!0-9].py", False),
    ("/p/a[0-9].py", "/p/a[5-7].py", True),
    ("/p/a[0-3].py", "/p/a[5-7].py", False),
    ("/p/a?.py", "/p/ab.py", True),
    ("/p/a?.py", "/p/abc.py", False),
    ("/p/**", "/q/x", False),
    ("/p/**", "/p/**", True),
    ("/p/**/test_*.py", "/p/src/*_x.py", True),
    ("/p/src/*.md", "/p/src/*.py", False),
    ("/p/calc.py", "/p/calc.py", True),
    ("/p/calc.py", "/p/calc.pyc", False),
    ("/p/*", "/p/*/x", False),
])
def test_globs_overlap(a: str, b: str, overlap: bool) -> None:
    assert globs_overlap(a, b) is overlap
    assert globs_overlap(b, a) is overlap


@pytest.mark.parametrize(("path", "globs", "expected"), [
    ("/p/src/a.py", ["/p/src/**"], True),
    ("/p/src/a/b.py", ["/p/src/**"], True),
    ("/p/a.py", ["/p/**/*.py"], True),
    ("/p/src/a.py", ["/p/*.py"], False),
    ("/p/a.py", [], False),
    ("/p/a.py", ["/p/b.py", "/p/a.py"], True),
    ("/p/ab.py", ["/p/a?.py"], True),
])
def test_owned(path: str, globs: list[str], expected: bool) -> None:
    assert owned(path, globs) is expected


@pytest.mark.parametrize(("path", "owns", "expected"), [
    ("calc.py", ["calc.py"], True),
    ("sub/../calc.py", ["calc.py"], True),
    ("../outside.py", ["**"], False),
    ("other.py", ["calc.py"], False),
    ("src/x.py", ["src/**"], True),
])
def test_may_write_is_relative_to_the_task_directory(tmp_path: Any, path: str, owns: list[str],
                                                     expected: bool) -> None:
    cwd = tmp_path / "task"
    cwd.mkdir()
    assert may_write(path, cwd=str(cwd), owns=owns) is expected


@pytest.mark.parametrize(("globs", "anchored"), [
    (["src/"], ("/nonexistent-p/src/**",)),
    (["./src/", "a.py"], ("/nonexistent-p/src/**", "/nonexistent-p/a.py")),
    (["src/*/"], ("/nonexistent-p/src/*/**",)),
    (["/abs/x/../y/"], ("/abs/y/**",)),
])
def test_a_trailing_slash_owns_the_folder(globs: list[str], anchored: tuple[str, ...]) -> None:
    assert absolute_globs("/nonexistent-p", globs) == anchored


def test_may_write_under_a_glob_with_a_trailing_slash(tmp_path: Any) -> None:
    assert may_write("src/a.py", cwd=str(tmp_path), owns=["./src/"])
    assert may_write("src/deep/a.py", cwd=str(tmp_path), owns=["src/"])
    assert not may_write("other/a.py", cwd=str(tmp_path), owns=["src/"])


def test_globs_through_a_symlinked_folder_overlap_like_the_guard_judges(tmp_path: Any) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "src")
    via_link = absolute_globs(str(tmp_path), ["link/**"])
    assert via_link == (f"{os.path.realpath(tmp_path)}/src/**",)
    assert overlapping(via_link, absolute_globs(str(tmp_path), ["src/a.py"]))
    assert may_write("src/a.py", cwd=str(tmp_path), owns=["link/**"])
    assert not overlapping(via_link, absolute_globs(str(tmp_path), ["tests/a.py"]))


def test_may_write_sees_through_a_symlink_out_of_the_owned_folder(tmp_path: Any) -> None:
    (tmp_path / "task" / "src").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (tmp_path / "task" / "src" / "escape").symlink_to(tmp_path / "secret")
    assert not may_write("src/escape/key", cwd=str(tmp_path / "task"), owns=["src/**"])
