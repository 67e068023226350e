"""The running claims of the other live coordinators on one store, as admission sees them.

Admission is global: the cap, the per-backend caps and ownership count every live
coordinator's running tasks, read from processing/ under the store lock. Each claim file is
parsed once (kept by name and mtime); whether its owner lives is one lock probe per owner.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from hookswarm.lib.swarm import lease
from hookswarm.lib.swarm.ownership import absolute_globs
from hookswarm.lib.swarm.scheduler import Slot
from hookswarm.lib.swarm.store import DamagedFile, Envelope, Store

if TYPE_CHECKING:
    from collections.abc import Container


class OtherClaims:
    """Reads the claims in ``store`` that belong to live coordinators other than ``owner``."""

    def __init__(self, store: Store, owner: str) -> None:
        self._store = store
        self._owner = owner
        self._seen: dict[str, tuple[int, str, Slot]] = {}

    def slots(self, mine: Container[str]) -> list[Slot]:
        """The other live coordinators' running tasks; call it with the store lock held."""
        current: dict[str, tuple[int, str, Slot]] = {}
        with os.scandir(self._store.root / "processing") as entries:
            for entry in entries:
                task_id = entry.name[:-5]
                if _is_claim(entry.name) and task_id not in mine:
                    found = self._claim(task_id, entry)
                    if found is not None:
                        current[task_id] = found
        self._seen = current
        live: dict[str, bool] = {}
        return [slot for _, owner, slot in current.values()
                if owner != self._owner
                and live.setdefault(owner, lease.held(self._store.root, owner))]

    def _claim(self, task_id: str, entry: os.DirEntry[str]) -> tuple[int, str, Slot] | None:
        with contextlib.suppress(FileNotFoundError):
            stamp = entry.stat().st_mtime_ns
            known = self._seen.get(task_id)
            if known is not None and known[0] == stamp:
                return known
            try:
                envelope = Envelope.read(self._store.path("processing", task_id))
            except DamagedFile:
                return None  # recovery rejects it
            return stamp, envelope.owner, _slot(envelope)
        return None


def _is_claim(name: str) -> bool:
    return name.endswith(".json") and not name.startswith(".")


def _slot(envelope: Envelope) -> Slot:
    task = envelope.task
    return Slot(task.id, task.backend, "", absolute_globs(task.cwd, task.write_globs))
