"""Helpers for the coordinator tests: process liveness, file-synchronised waits, record peaks."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.coordinator import Coordinator
from hookswarm.lib.swarm.metrics import peak_concurrency
from hookswarm.lib.swarm.store import Store


@dataclass
class SwarmRun:
    """What one coordinator run produced."""

    ids: list[str]
    results: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]
    coordinator: Coordinator
    store: Store
    intervals: dict[str, tuple[int, int]] = field(default_factory=dict)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == kind]

    def event_peak(self) -> int:
        """Most workers running at once, from the coordinator's started/ended sequence."""
        spans: dict[str, list[int]] = {}
        for event in self.events:
            if event["kind"] in ("started", "ended") and event["id"] in self.ids:
                spans.setdefault(event["id"], []).append(event["seq"])
        return peak_concurrency([(s[0], s[-1]) for s in spans.values() if len(s) == 2])

    def status(self, task_id: str | None = None) -> str:
        return str(self.results[task_id or self.ids[0]]["status"])


Runner = Callable[..., SwarmRun]
Background = Callable[[list[dict[str, Any]], SwarmConfig], Callable[[], SwarmRun]]
"""Starts a coordinator run in the background; the returned call waits for it."""


def gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (a zombie awaiting its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in (b"Z", b"X")


def wait_until(predicate: Callable[[], bool], *, timeout: float = 10.0) -> None:
    """Poll a condition on files or /proc (never a fixed sleep); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.01)


def recorded_peak(path: Path) -> int:
    """Most workers between their own ``start`` and ``end`` lines in an O_APPEND record file."""
    current = peak = 0
    for line in path.read_text().splitlines():
        current += 1 if line.startswith("start") else -1
        peak = max(peak, current)
    return peak


def pids_alive(pids: Sequence[int]) -> list[int]:
    return [p for p in pids if not gone(p)]

