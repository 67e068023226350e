"""Graph arithmetic: cycles, stable order, readiness."""

from __future__ import annotations

import pytest

from hookswarm.executor.schedule import find_cycle, ready, stable_order


@pytest.mark.parametrize(("after", "cycle"), [
    ({"a": [], "b": ["a"]}, []),
    ({"a": ["a"]}, ["a", "a"]),
    ({"a": ["b"], "b": ["a"]}, ["a", "b", "a"]),
    ({"x": [], "a": ["c"], "b": ["a"], "c": ["b"]}, ["a", "c", "b", "a"]),
    ({"a": ["missing"]}, []),
])
def test_find_cycle(after: dict[str, list[str]], cycle: list[str]) -> None:
    assert find_cycle(after) == cycle


@pytest.mark.parametrize(("names", "after", "order"), [
    (["a", "b", "c"], {}, ["a", "b", "c"]),
    (["b", "a"], {"b": ["a"]}, ["a", "b"]),
    (["c", "b", "a"], {"c": ["a"], "b": []}, ["b", "a", "c"]),
    (["a", "b"], {"b": ["not-selected"]}, ["a", "b"]),
])
def test_stable_order_keeps_config_order_where_it_can(
        names: list[str], after: dict[str, list[str]], order: list[str]) -> None:
    assert stable_order(names, after) == order


def test_ready_starts_a_hook_the_moment_its_own_dependencies_finish() -> None:
    after = {"slow": [], "fast": [], "needs_fast": ["fast"], "needs_both": ["fast", "slow"]}
    names = list(after)
    assert ready(names, after, finished=set(), started=set()) == ["slow", "fast"]
    assert ready(names, after, finished={"fast"}, started={"slow", "fast"}) == ["needs_fast"]
    assert ready(names, after, finished={"fast", "slow"},
                 started={"slow", "fast", "needs_fast"}) == ["needs_both"]
