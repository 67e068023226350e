"""The coordinator under faults: requests it cannot read, damaged bookkeeping, a second
coordinator on the same store, escaping processes."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.coordinator import Coordinator
from hookswarm.lib.swarm.store import Store
from hookswarm.lib.swarm.task import build_tasks
from tests.lib.swarm.swarm_support import as_nobody, coordinate

TRUE = {"backend": "command", "argv": ["true"]}


@pytest.fixture
def nobody_project() -> Iterator[Path]:
    """A project directory outside pytest's private tmp folder, so that nobody can reach it."""
    with tempfile.TemporaryDirectory(prefix="swarm-nobody-") as name:
        Path(name).chmod(0o755)
        yield Path(name)


def serve_until_idle(store: Store) -> None:
    anyio.run(lambda: Coordinator(store, SwarmConfig()).run(until_idle=True))


def test_a_directory_in_place_of_a_request_is_rejected_and_serve_carries_on(
        swarm_dir: Store, tmp_path: Path) -> None:
    swarm_dir.path("requests", "zz").mkdir()
    _, events, _ = coordinate(swarm_dir, [{"id": "fine", **TRUE}], tmp_path, only=False)
    ended = {e["id"]: e for e in events if e["kind"] == "ended"}
    assert ended["fine"]["status"] == "succeeded"
    assert ended["zz"]["status"] == "failed"
    assert str(swarm_dir.path("requests", "zz")) in ended["zz"]["reason"]
    assert "rejected" in ended["zz"]["reason"]
    assert (swarm_dir.result("zz") or {})["status"] == "failed"
    assert swarm_dir.pending() == []
    [moved] = (swarm_dir.root / "rejected").iterdir()
    assert moved.is_dir()


def test_a_request_nobody_may_read_is_rejected_and_the_others_run(nobody_project: Path) -> None:
    store = Store.for_project(nobody_project)
    store.submit(build_tasks([{"id": "locked", **TRUE}, {"id": "fine", **TRUE}],
                             base=str(nobody_project)))
    store.path("requests", "locked").chmod(0)
    assert as_nobody(lambda: serve_until_idle(store), tree=nobody_project) == 0
    assert (store.result("fine") or {})["status"] == "succeeded"
    locked = store.result("locked") or {}
    assert locked["status"] == "failed"
    assert "Permission denied" in locked["reason"]
    assert str(store.path("requests", "locked")) in locked["reason"]
    assert store.pending() == []
