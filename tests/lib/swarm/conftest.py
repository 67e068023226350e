"""Fixtures for the coordinator tests: a store in tmp_path and a way to run tasks through it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import pytest

from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.coordinator import Coordinator
from hookswarm.lib.swarm.store import Store
from hookswarm.lib.swarm.task import build_tasks
from tests.helpers.swarm import Background, Runner, SwarmRun

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from concurrent.futures import Future
    from pathlib import Path

    from hookswarm.lib.swarm.backend import Backend


@pytest.fixture
def swarm_dir(tmp_path: Path) -> Store:
    """An empty .swarm/ store under tmp_path."""
    return Store.for_project(tmp_path)


@pytest.fixture
def run_swarm(swarm_dir: Store, tmp_path: Path) -> Runner:
    """Submit task dicts and run a coordinator over them until every one has a result."""

    def run(entries: Sequence[Mapping[str, Any]], *, config: SwarmConfig | None = None,
            backends: Mapping[str, Backend] | None = None,
            environ: Mapping[str, str] | None = None,
            on_event: Callable[[dict[str, Any]], None] | None = None) -> SwarmRun:
        for entry in entries:
            (tmp_path / str(entry.get("cwd", "."))).mkdir(parents=True, exist_ok=True)
        tasks = build_tasks([dict(e) for e in entries], base=str(tmp_path))
        ids = swarm_dir.submit(tasks)
        events: list[dict[str, Any]] = []

        def record(event: dict[str, Any]) -> None:
            events.append(event)
            if on_event is not None:
                on_event(event)

        coordinator = Coordinator(swarm_dir, config or SwarmConfig(), backends=backends,
                                  environ=environ, on_event=record)
        anyio.run(lambda: coordinator.run(only=ids))
        results = {i: r for i in ids if (r := swarm_dir.result(i)) is not None}
        return SwarmRun(ids, results, events, coordinator, swarm_dir)

    return run


@pytest.fixture
def in_background(swarm_dir: Store, tmp_path: Path) -> Iterator[Background]:
    """Start a coordinator on a portal thread; ``finished()`` waits for its run.

    A test that fails before that cancels the run at teardown, so the coordinator stops its
    workers and servers instead of leaving them running after the test process.
    """
    with anyio.from_thread.start_blocking_portal() as portal:
        futures: list[Future[None]] = []

        def start(entries: list[dict[str, Any]], config: SwarmConfig) -> Callable[[], SwarmRun]:
            ids = swarm_dir.submit(build_tasks(entries, base=str(tmp_path)))
            events: list[dict[str, Any]] = []
            coordinator = Coordinator(swarm_dir, config, on_event=events.append)
            future = portal.start_task_soon(lambda: coordinator.run(only=ids))
            futures.append(future)

            def finished() -> SwarmRun:
                future.result(timeout=150)
                results = {i: r for i in ids if (r := swarm_dir.result(i)) is not None}
                return SwarmRun(ids, results, events, coordinator, swarm_dir)

            return finished

        try:
            yield start
        finally:
            for future in futures:
                future.cancel()
