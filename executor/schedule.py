"""Dependency-graph arithmetic for hooks: cycles, a stable order, and what may start now."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence


def find_cycle(after: Mapping[str, Sequence[str]]) -> list[str]:
    """A cycle in the ``after`` graph as ``[a, b, ..., a]``, or ``[]`` when it is a DAG."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = fully explored
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for dep in after.get(node, ()):
            if state.get(dep) == 1:
                return [*path[path.index(dep):], dep]
            if dep not in state and dep in after:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in after:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def stable_order(names: Sequence[str], after: Mapping[str, Sequence[str]]) -> list[str]:
    """Topological order of ``names`` that keeps config order wherever the graph allows."""
    remaining = list(names)
    done: set[str] = set()
    order: list[str] = []
    while remaining:
        pick = next(n for n in remaining if all(d in done for d in after.get(n, ()) if d in names))
        remaining.remove(pick)
        done.add(pick)
        order.append(pick)
    return order


def ready(
    names: Sequence[str], after: Mapping[str, Sequence[str]], *,
    finished: Collection[str], started: Collection[str],
) -> list[str]:
    """Hooks not yet started whose dependencies (among ``names``) have all finished."""
    selected = set(names)
    return [
        name for name in names
        if name not in started and all(d in finished for d in after.get(name, ()) if d in selected)
    ]
