"""The ``.swarm/`` store: durable requests, atomic claims, exactly-once results.

```
.swarm/requests/{id}.json     queued                 processing/{id}.json  claimed
.swarm/results/{id}.json      final, written once    logs/{id}.stream.txt  worker output
.swarm/context/{id}.md        lazy context (0600)    state.json            counts, under a lock
```

Every JSON file is written to a temporary name and renamed (or hard-linked, for results, so
a second writer fails instead of overwriting). Claims and requeues move files under the
state lock, so a crash leaves each task in exactly one of requests/, processing/, results/.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from hookswarm.lib.swarm.errors import StoreError
from hookswarm.lib.swarm.task import Task

VERSION = 1
SWARM_DIR = ".swarm"
_LOCK_POLL = 0.001
_DIRS = ("requests", "processing", "results", "logs", "context", "coordinators")


@dataclass(slots=True)
class Envelope:
    """A queued or claimed task with its bookkeeping."""

    task: Task
    submitted_at: float
    attempt: int = 0
    owner: str = ""
    worker: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "task": self.task.model_dump(mode="json"),
                "submitted_at": self.submitted_at, "attempt": self.attempt,
                "owner": self.owner, "worker": self.worker}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Envelope:
        return cls(Task.model_validate(data["task"]), float(data["submitted_at"]),
                   int(data.get("attempt", 0)), str(data.get("owner", "")),
                   dict(data.get("worker") or {}))


class Store:
    """One project's ``.swarm/`` directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        for name in _DIRS:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.root / "state.lock"))

    @classmethod
    def for_project(cls, project: str | Path) -> Store:
        return cls(Path(project) / SWARM_DIR)

    # ------------------------------------------------------------ paths

    def path(self, kind: str, task_id: str) -> Path:
        suffix = {"logs": ".stream.txt", "context": ".md"}.get(kind, ".json")
        return self.root / kind / f"{task_id}{suffix}"

    def log_path(self, task_id: str) -> Path:
        return self.path("logs", task_id)

    @contextlib.contextmanager
    def lock(self, timeout: float = -1) -> Iterator[None]:
        """The state lock (re-entrant within a thread); ``timeout=0`` fails at once if busy.

        Waiters poll every millisecond: the lock is held for a few file operations at a
        time, and filelock's default 50 ms poll would stall the coordinator's loop.
        """
        self._lock.acquire(timeout=timeout, poll_interval=_LOCK_POLL)
        try:
            yield
        finally:
            self._lock.release()

    # ------------------------------------------------------------ queue

    def submit(self, tasks: Sequence[Task], *, now: float | None = None) -> list[str]:
        """Queue ``tasks`` durably; an id already known anywhere in the store queues nothing."""
        stamp = time.time() if now is None else now
        with self.lock():
            taken = [t.id for t in tasks if self.known(t.id)]
            if taken:
                raise StoreError(f"task id '{taken[0]}' is already in {self.root}; "
                                 "leave 'id' out to get a fresh one")
            for task in tasks:
                _write_json(self.path("requests", task.id), Envelope(task, stamp).to_json())
            self._refresh_state()
        return [t.id for t in tasks]

    def known(self, task_id: str) -> bool:
        return any(self.path(kind, task_id).exists()
                   for kind in ("requests", "processing", "results"))

    def pending(self) -> list[str]:
        """Queued ids, oldest request first."""
        return _ids_by_age(self.root / "requests")

    def processing(self) -> list[str]:
        return _ids_by_age(self.root / "processing")

    def request(self, task_id: str) -> Envelope | None:
        """A queued task, or None when it is no longer queued."""
        try:
            return Envelope.from_json(_read_json(self.path("requests", task_id)))
        except FileNotFoundError:
            return None

    def claim(self, ids: Iterable[str], *, owner: str,
              known: Mapping[str, Envelope] | None = None) -> list[Envelope]:
        """Move requests to processing/ for ``owner``; ids someone else took are skipped.

        ``known`` holds envelopes already read from requests/, to save reading them again.
        The owner is written under the lock, so recovery never sees a claim without one
        unless its coordinator died in between. Claims are not fsynced: one lost in a crash
        only looks orphaned, which recovery handles.
        """
        claimed: list[Envelope] = []
        with self.lock():
            for task_id in ids:
                target = self.path("processing", task_id)
                try:
                    os.rename(self.path("requests", task_id), target)
                except FileNotFoundError:
                    continue
                cached = (known or {}).get(task_id)
                envelope = cached or Envelope.from_json(_read_json(target))
                envelope.owner = owner
                _write_json(target, envelope.to_json(), durable=False)
                claimed.append(envelope)
            if claimed:
                self._refresh_state()
        return claimed

    def claimed(self, task_id: str) -> Envelope:
        return Envelope.from_json(_read_json(self.path("processing", task_id)))

    def record_worker(self, envelope: Envelope, worker: dict[str, int]) -> None:
        """Note the worker's process identity in its claim, for crash recovery.

        Only the owner writes its own claim, and the write is an atomic rename, so no lock.
        """
        envelope.worker = worker
        _write_json(self.path("processing", envelope.task.id), envelope.to_json(), durable=False)

    def requeue(self, task_id: str, *, attempt: int) -> None:
        """Put a claimed task back in requests/ (its coordinator stopped or died)."""
        with self.lock():
            source = self.path("processing", task_id)
            envelope = Envelope.from_json(_read_json(source))
            envelope.attempt, envelope.owner, envelope.worker = attempt, "", {}
            _write_json(self.path("requests", task_id), envelope.to_json())
            source.unlink()
            self._refresh_state()

    # ------------------------------------------------------------ results

    def finish(self, task_id: str, result: dict[str, Any]) -> bool:
        """Write the result once; False (and nothing changed) if one already exists."""
        final = self.path("results", task_id)
        tmp = final.with_name(f".{task_id}.{secrets.token_hex(4)}.tmp")
        _write_file(tmp, _dumps({"version": VERSION, **result}))
        try:
            os.link(tmp, final)
        except FileExistsError:
            return False
        finally:
            tmp.unlink()
        with self.lock():
            for kind in ("processing", "requests"):
                with contextlib.suppress(FileNotFoundError):
                    self.path(kind, task_id).unlink()
            self._refresh_state()
        return True

    def result(self, task_id: str) -> dict[str, Any] | None:
        try:
            return _read_json(self.path("results", task_id))
        except FileNotFoundError:
            return None

    def results(self) -> Iterator[dict[str, Any]]:
        for task_id in _ids_by_age(self.root / "results"):
            found = self.result(task_id)
            if found is not None:
                yield found

    # ------------------------------------------------------------ context, state

    def write_context(self, task_id: str, text: str) -> Path:
        """Write a lazy context file readable by its owner only (0600)."""
        path = self.path("context", task_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, text.encode())
        finally:
            os.close(fd)
        return path

    def state(self) -> dict[str, Any]:
        try:
            return _read_json(self.root / "state.json")
        except (FileNotFoundError, ValueError):
            return {"version": VERSION, "queued": 0, "active": 0, "finished": 0}

    def begin_session(self, *, owner: str, max_parallel: int, now: float) -> None:
        """Record the running coordinator's cap, for ``status``'s efficiency figure."""
        with self.lock():
            self._refresh_state(session={"owner": owner, "max_parallel": max_parallel,
                                         "started_at": now})

    def _refresh_state(self, session: dict[str, Any] | None = None) -> None:
        state = self.state()
        state.update(version=VERSION, updated_at=time.time(),
                     queued=_count(self.root / "requests"),
                     active=_count(self.root / "processing"),
                     finished=_count(self.root / "results"))
        if session is not None:
            state["session"] = session
        _write_json(self.root / "state.json", state, durable=False)

    # ------------------------------------------------------------ retention

    def clean(self, *, older_than: float, now: float | None = None) -> list[str] | None:
        """Drop finished tasks (result, log, context) older than ``older_than`` seconds.

        Returns the ids removed, or None when another process holds the lock (skipped).
        """
        cutoff = (time.time() if now is None else now) - older_than
        try:
            with self.lock(timeout=0):
                removed = [i for i in _ids_by_age(self.root / "results")
                           if _mtime(self.path("results", i)) <= cutoff]
                for task_id in removed:
                    for kind in ("logs", "context", "results"):
                        with contextlib.suppress(FileNotFoundError):
                            self.path(kind, task_id).unlink()
                _drop_stale_tmp(self.root, cutoff)
                self._refresh_state()
        except Timeout:
            return None
        return removed


def _dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True).encode() + b"\n"


def _write_file(path: Path, data: bytes, *, durable: bool = True) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, data: dict[str, Any], *, durable: bool = True) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    _write_file(tmp, _dumps(data), durable=durable)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_bytes())
    if not isinstance(data, dict):
        raise StoreError(f"{path} is not a JSON object; move it away and resubmit the task")
    return data


def _ids_by_age(directory: Path) -> list[str]:
    entries = []
    with os.scandir(directory) as it:
        for entry in it:
            if entry.name.endswith(".json") and not entry.name.startswith("."):
                with contextlib.suppress(FileNotFoundError):
                    entries.append((entry.stat().st_mtime_ns, entry.name[:-5]))
    return [name for _, name in sorted(entries)]


def _count(directory: Path) -> int:
    with os.scandir(directory) as it:
        return sum(1 for e in it if e.name.endswith(".json") and not e.name.startswith("."))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _drop_stale_tmp(root: Path, cutoff: float) -> None:
    for directory in ("requests", "processing", "results"):
        for tmp in (root / directory).glob(".*.tmp"):
            if _mtime(tmp) <= cutoff:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
