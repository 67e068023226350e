"""Graph arithmetic: cycles, stable order, the longest chain; none of it recurses."""

from __future__ import annotations

import itertools

import pytest

from hookswarm.lib.schedule import find_cycle, longest_chain, stable_order


def is_cycle(after: dict[str, list[str]], cycle: list[str]) -> bool:
    """``[a, b, ..., a]`` where each node runs after the next."""
    return (len(cycle) >= 2 and cycle[0] == cycle[-1]
            and all(b in after[a] for a, b in itertools.pairwise(cycle)))


@pytest.mark.parametrize("after", [
    {"a": ["a"]},
    {"a": ["b"], "b": ["a"]},
    {"x": [], "a": ["c"], "b": ["a"], "c": ["b"]},
    {f"h{i}": [f"h{i + 1}"] for i in range(1500)} | {"h1500": ["h0"]},
])
def test_find_cycle_names_a_real_cycle(after: dict[str, list[str]]) -> None:
    assert is_cycle(after, find_cycle(after))


@pytest.mark.parametrize("after", [
    {"a": [], "b": ["a"]},
    {"a": ["missing"]},
    {f"h{i}": [f"h{i - 1}"] if i else [] for i in range(1500)},
])
def test_find_cycle_finds_none_in_a_dag(after: dict[str, list[str]]) -> None:
    assert find_cycle(after) == []


@pytest.mark.parametrize(("names", "after", "order"), [
    (["a", "b", "c"], {}, ["a", "b", "c"]),
    (["b", "a"], {"b": ["a"]}, ["a", "b"]),
    (["c", "b", "a"], {"c": ["a"], "b": []}, ["b", "a", "c"]),
    (["a", "b"], {"b": ["not-selected"]}, ["a", "b"]),
    (["d", "c", "b", "a"], {"d": ["a", "a"], "c": ["b"]}, ["b", "c", "a", "d"]),
])
def test_stable_order_keeps_config_order_where_it_can(
        names: list[str], after: dict[str, list[str]], order: list[str]) -> None:
    assert stable_order(names, after) == order


@pytest.mark.parametrize(("after", "weights", "longest"), [
    ({}, {}, 0.0),
    ({"a": [], "b": ["a"], "c": []}, {"a": 1, "b": 2, "c": 4}, 4.0),
    ({"a": [], "b": ["a"], "c": ["b", "a"]}, {"a": 1, "b": 2, "c": 4}, 7.0),
    ({f"h{i}": [f"h{i - 1}"] if i else [] for i in range(1500)},
     {f"h{i}": 1 for i in range(1500)}, 1500.0),
])
def test_longest_chain(after: dict[str, list[str]], weights: dict[str, float],
                       longest: float) -> None:
    assert longest_chain(list(after), after, weights.__getitem__) == longest
