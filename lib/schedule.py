"""Dependency-graph arithmetic for hooks: cycles, a stable order, the longest chain.

Nothing here recurses: an ``after`` chain of thousands of hooks is an ordinary config.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence


def find_cycle(after: Mapping[str, Sequence[str]]) -> list[str]:
    """A cycle in the ``after`` graph as ``[a, b, ..., a]`` (a runs after b), or ``[]``."""
    import graphlib  # only when a config is parsed, not when its cache is read

    graph = {node: [dep for dep in deps if dep in after] for node, deps in after.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(reversed(exc.args[1]))  # graphlib lists each dependency before its dependent
    return []


def stable_order(names: Sequence[str], after: Mapping[str, Sequence[str]]) -> list[str]:
    """Topological order of ``names`` that keeps config order wherever the graph allows.

    Dependencies outside ``names`` are ignored; ``names`` must hold no cycle.
    """
    rank = {name: index for index, name in enumerate(names)}
    dependents = dependents_of(names, after)
    waiting = waiting_counts(names, dependents)
    ready = [rank[name] for name in names if not waiting[name]]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        order.append(name)
        for dependent in dependents.get(name, ()):
            waiting[dependent] -= 1
            if not waiting[dependent]:
                heapq.heappush(ready, rank[dependent])
    return order


def longest_chain(names: Sequence[str], after: Mapping[str, Sequence[str]],
                  weight: Callable[[str], float]) -> float:
    """The largest sum of ``weight`` along any ``after`` chain among ``names`` (0 if none)."""
    total: dict[str, float] = {}
    for name in stable_order(names, after):
        deps = [total[dep] for dep in after.get(name, ()) if dep in total]
        total[name] = weight(name) + max(deps, default=0.0)
    return max(total.values(), default=0.0)


def waiting_counts(names: Sequence[str],
                   dependents: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """For each of ``names``, how many of its dependencies (see ``dependents_of``) it waits on."""
    waiting = dict.fromkeys(names, 0)
    for followers in dependents.values():
        for name in followers:
            waiting[name] += 1
    return waiting


def dependents_of(names: Sequence[str],
                  after: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """For each of ``names``, the ones among ``names`` that run after it (each edge once)."""
    selected = set(names)
    dependents: dict[str, list[str]] = {}
    for name in names:
        for dep in dict.fromkeys(after.get(name, ())):
            if dep in selected:
                dependents.setdefault(dep, []).append(name)
    return dependents
