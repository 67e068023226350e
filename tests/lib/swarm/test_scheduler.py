"""Admission: which queued tasks start, under caps, health and ownership."""

from __future__ import annotations

import pytest

from hookswarm.lib.swarm.scheduler import Slot, admit


def slot(name: str, backend: str = "command", owns: tuple[str, ...] = (),
         key: str = "") -> Slot:
    return Slot(name, backend, key or backend, owns)


@pytest.mark.parametrize(("queued", "running", "caps", "usable", "expected"), [
    ([slot(f"t{i}") for i in range(8)], [], {}, {"command"}, ["t0", "t1", "t2", "t3", "t4"]),
    ([slot(f"t{i}") for i in range(8)], [slot("r0"), slot("r1")], {}, {"command"},
     ["t0", "t1", "t2"]),
    ([slot("a", "claude"), slot("b", "claude"), slot("c")], [], {"claude": 1},
     {"claude", "command"}, ["a", "c"]),
    ([slot("a", "claude"), slot("b")], [], {}, {"command"}, ["b"]),
    ([slot("a", owns=("/p/x.py",)), slot("b", owns=("/p/x.py",)), slot("c", owns=("/p/y.py",))],
     [], {}, {"command"}, ["a", "c"]),
    ([slot("a", owns=("/p/src/x.py",))], [slot("r", owns=("/p/src/**",))], {}, {"command"}, []),
    ([slot("a"), slot("b")], [slot("r", owns=("/p/**",))], {}, {"command"}, ["a", "b"]),
    ([slot(f"t{i}") for i in range(3)], [slot(f"r{i}") for i in range(5)], {}, {"command"}, []),
])
def test_admit(queued: list[Slot], running: list[Slot], caps: dict[str, int], usable: set[str],
               expected: list[str]) -> None:
    assert admit(queued, running, max_parallel=5, caps=caps, usable=usable) == expected
