"""The ``.swarm/`` store: durable requests, atomic claims, exactly-once results.

```
.swarm/requests/{id}.json     queued                 processing/{id}.json  claimed
.swarm/results/{id}.json      final, written once    logs/{id}.stream.txt  worker output
.swarm/context/{id}.md        lazy context (0600)    state.json            counts, under a lock
```

Every JSON file is written to a temporary name and renamed (or hard-linked, for results, so
a second writer fails instead of overwriting). Claims and requeues move files under the
state lock, so a crash leaves each task in exactly one of requests/, processing/, results/.
``state.json`` only summarises those folders: a caller that changes many tasks in a burst may
pass ``update_state=False`` and call :meth:`Store.update_state` once afterwards.

Requests, claims and results carry the task's context, so they are written 0600 like the
lazy context file. A request or claim that cannot be read is moved to ``rejected/`` and its
task gets a ``failed`` result (:meth:`Store.reject`); a damaged result reads as a stand-in
with status ``damaged``; a damaged ``state.json`` is rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hookswarm.lib.flock import lock_within
from hookswarm.lib.swarm import lease
from hookswarm.lib.swarm.errors import StoreError, first_problem
from hookswarm.lib.swarm.result import TaskResult
from hookswarm.lib.swarm.task import Task, valid_id
from hookswarm.lib.swarmdir import ignore_in_git

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

VERSION = 1
SWARM_DIR = ".swarm"
_DIRS = ("requests", "processing", "results", "logs", "context", "coordinators", "rejected")
_PRIVATE = 0o600
_TMP_MIN_AGE = 3600.0  # a younger temporary file may be one a writer is about to rename
_FINISH_TRIES = 3
_BATCH_FILES = 64  # results held open at once while a batch is flushed
_Identity = tuple[int, int, int, int]
_SUFFIXES = {"logs": ".stream.txt", "context": ".md"}


class ResultsUnwritable(StoreError):
    """``results/`` cannot be written: no task can end properly until someone fixes it."""


class DamagedFile(StoreError):
    """A file under ``.swarm/`` that is not what the store wrote."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path} is damaged: {problem}")


@dataclass(slots=True)
class Envelope:
    """A queued or claimed task with its bookkeeping."""

    task: Task
    submitted_at: float
    attempt: int = 0
    owner: str = ""
    worker: dict[str, int] = field(default_factory=dict)
    ended: dict[str, Any] | None = None  # the result that results/ could not take

    def to_json(self) -> dict[str, Any]:
        data = {"version": VERSION, "task": self.task.model_dump(mode="json"),
                "submitted_at": self.submitted_at, "attempt": self.attempt,
                "owner": self.owner, "worker": self.worker}
        return data if self.ended is None else {**data, "ended": self.ended}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Envelope:
        ended = data.get("ended")
        return cls(Task.model_validate(data["task"]), float(data["submitted_at"]),
                   int(data.get("attempt", 0)), str(data.get("owner", "")),
                   dict(data.get("worker") or {}), ended if isinstance(ended, dict) else None)

    @classmethod
    def read(cls, path: Path) -> Envelope:
        """Read an envelope file; :class:`DamagedFile` if it is not one."""
        data = _read_json(path)
        try:
            envelope = cls.from_json(data)
        except ValidationError as exc:
            key, reason = first_problem(exc)
            raise DamagedFile(path, f"task key '{key}': {reason}") from None
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise DamagedFile(path, f"not a task envelope ({type(exc).__name__}: {exc})") from None
        if path.name != f"{envelope.task.id}.json":  # every folder finds a task by its name
            raise DamagedFile(path, f"it holds task '{envelope.task.id}', but a task's file is "
                                    "named for its id")
        return envelope


class Store:
    """One project's ``.swarm/`` directory.

    ``create=False`` makes no folder and no file on opening, for the verbs that only read
    (``status``, ``logs``, ``health``) or only remove (``clean``): its folders may be missing.
    """

    def __init__(self, root: str | Path, *, create: bool = True) -> None:
        self.root = Path(root)
        if create:
            for name in _DIRS:
                (self.root / name).mkdir(parents=True, exist_ok=True)
            ignore_in_git(str(self.root))
        self._lock = _StateLock(self.root)
        self._root = str(self.root)
        self._written: dict[str, tuple[_Identity, Envelope]] = {}
        self.state_problem = ""

    @classmethod
    def for_project(cls, project: str | Path, *, create: bool = True) -> Store:
        return cls(Path(project) / SWARM_DIR, create=create)

    # ------------------------------------------------------------ paths

    def path(self, kind: str, task_id: str) -> Path:
        return Path(self._name(kind, task_id))

    def _name(self, kind: str, task_id: str) -> str:
        """:meth:`path` as a string, for the claim path (pathlib's joins cost microseconds)."""
        return f"{self._root}/{kind}/{task_id}{_SUFFIXES.get(kind, '.json')}"

    def log_path(self, task_id: str) -> Path:
        return self.path("logs", task_id)

    @contextlib.contextmanager
    def lock(self, timeout: float = -1) -> Iterator[None]:
        """The state lock (re-entrant within a thread); ``timeout=0`` fails at once if busy.

        Raises :class:`TimeoutError` when ``timeout`` (seconds, >= 0) passes first.
        """
        self._lock.acquire(timeout)
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
                envelope, path = Envelope(task, stamp), self.path("requests", task.id)
                _write_json(path, envelope.to_json(), mode=_PRIVATE)
                self._written[task.id] = (_identity(os.stat(path)), envelope)
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
        """A queued task, None when no longer queued; :class:`DamagedFile` if unreadable.

        A request this store submitted, still the same file (inode, size, modification and
        change times), is not read again: parsing and validating it is most of the time a
        coordinator spends between seeing a burst and starting it.
        """
        path = self._name("requests", task_id)
        written = self._written.get(task_id)
        try:
            if written is not None and _identity(os.stat(path)) == written[0]:
                return written[1]
            return Envelope.read(Path(path))
        except FileNotFoundError:
            return None

    def claim(self, ids: Iterable[str], *, owner: str,
              known: Mapping[str, Envelope] | None = None,
              update_state: bool = True) -> list[Envelope]:
        """Move requests to processing/ for ``owner``; ids someone else took are skipped.

        ``known`` holds envelopes already read from requests/, to save reading them again.
        """
        with self.lock():
            with self.claiming(ids, owner=owner, known=known) as claiming:
                claimed = list(claiming)  # nothing to start: the claims are written at the end
            if claimed and update_state:
                self._refresh_state()
        return claimed

    @contextlib.contextmanager
    def claiming(self, ids: Iterable[str], *, owner: str,
                 known: Mapping[str, Envelope] | None = None) -> Iterator[Iterator[Envelope]]:
        """Claim ``ids`` like :meth:`claim`, holding the lock while the caller starts workers.

        Yields the claimed envelopes one at a time: each request moves to processing/ as
        the caller reaches it, so the first worker of a burst starts without waiting for the
        other claims. Each claim is written, with its owner and the ``worker`` the caller
        noted on its envelope, when the block ends and before the lock is released. So no
        other process sees a claim without its owner unless its coordinator died inside the
        block (recovery then requeues the claim and kills the workers its dead lease marked).
        Claims are not fsynced: one lost in a crash only looks orphaned, which recovery
        handles.
        """
        claimed: list[Envelope] = []

        def take() -> Iterator[Envelope]:
            for task_id in ids:
                envelope = self._move_to_processing(task_id, known)
                if envelope is not None:
                    envelope.owner = owner
                    claimed.append(envelope)
                    yield envelope

        with self.lock():
            try:
                yield take()
            finally:
                for envelope in claimed:
                    _write_json(self.path("processing", envelope.task.id), envelope.to_json(),
                                durable=False, mode=_PRIVATE)

    def _move_to_processing(self, task_id: str,
                            known: Mapping[str, Envelope] | None) -> Envelope | None:
        target = self._name("processing", task_id)
        self._written.pop(task_id, None)
        try:
            os.rename(self._name("requests", task_id), target)
        except FileNotFoundError:
            return None  # another coordinator took it
        cached = (known or {}).get(task_id)
        if cached is not None:
            return cached
        try:
            return Envelope.read(Path(target))
        except DamagedFile as exc:
            self.reject("processing", task_id, exc)
            return None

    def claimed(self, task_id: str) -> Envelope:
        """A claimed task; :class:`DamagedFile` if its claim cannot be read."""
        return Envelope.read(self.path("processing", task_id))

    def requeue(self, task_id: str, *, attempt: int) -> None:
        """Put a claimed task back in requests/ (its coordinator stopped or died)."""
        with self.lock():
            source = self.path("processing", task_id)
            try:
                envelope = Envelope.read(source)
            except DamagedFile as exc:
                self.reject("processing", task_id, exc)
                return
            envelope.attempt, envelope.owner, envelope.worker = attempt, "", {}
            envelope.ended = None
            _write_json(self.path("requests", task_id), envelope.to_json(), mode=_PRIVATE)
            source.unlink()
            self._refresh_state()

    def keep_outcome(self, task_id: str, result: Mapping[str, Any]) -> bool:
        """Keep on its claim the result of a task that ran but that results/ could not take.

        Recovery then writes it to results/ instead of running the task again. False when the
        claim cannot be rewritten either: the task then runs again, as a retry.
        """
        try:
            with self.lock():
                envelope = self.claimed(task_id)
                envelope.ended = dict(result)
                _write_json(self.path("processing", task_id), envelope.to_json(), mode=_PRIVATE)
        except (OSError, DamagedFile):
            return False
        return True

    def reject(self, kind: str, task_id: str, damage: DamagedFile) -> TaskResult | None:
        """Move a request or claim that cannot be read to ``rejected/`` and fail its task.

        Returns the ``failed`` result, or None when the file was gone already (someone else
        rejected it) or its name is not a task id (then it is only moved aside).
        """
        with self.lock():
            source = self.path(kind, task_id)
            target = self.root / "rejected" / f"{task_id}.{secrets.token_hex(3)}.json"
            try:
                where = self._move_aside(source, target)
            except FileNotFoundError:
                return None
            if not valid_id(task_id):
                return None
            result = TaskResult.rejected(
                task_id, f"{damage}; {where}; submit the task again (with a new id) if it "
                         "should run", log=str(self.log_path(task_id)))
            return result if self.finish(task_id, result.to_json()) else None

    def _move_aside(self, source: Path, target: Path) -> str:
        """Set ``source`` aside in ``target``, or hidden beside itself when rejected/ cannot
        take it (its task still fails: one bad file must not stop the others); says where."""
        try:
            return f"moved to {target} ({_set_aside(source, target)})"
        except FileNotFoundError:
            raise
        except OSError as exc:
            problem = f"{target.parent} cannot take it ({exc.strerror or exc}): fix that folder"
        hidden = source.with_name(f".{target.stem}.rejected")
        try:
            return f"kept as {hidden} ({_set_aside(source, hidden)}), since {problem}"
        except FileNotFoundError:
            raise
        except OSError:
            return f"left where it is, since {problem}, or remove the file"

    # ------------------------------------------------------------ results

    def finish(self, task_id: str, result: Mapping[str, Any], *,
               update_state: bool = True) -> bool:
        """Write the result once; False (and nothing changed) if one already exists.

        Raises :class:`ResultsUnwritable` when ``results/`` cannot be written.
        """
        outcome = self.finish_all({task_id: result}, update_state=update_state)[task_id]
        if isinstance(outcome, ResultsUnwritable):
            raise outcome
        return outcome

    def finish_all(self, results: Mapping[str, Mapping[str, Any]], *,
                   update_state: bool = True) -> dict[str, bool | ResultsUnwritable]:
        """:meth:`finish` for a batch of tasks, waiting for the disk once for all of them.

        Each result is written to its own temporary file; all of them are flushed together,
        then linked to their names, and ``results/`` flushed once for the links. Only then are
        the claims dropped: a claim goes once its result is durable, so a flush that fails
        leaves the claims (and recovery closes those whose result did reach the disk). Per
        task: True if written, False if it had a result already, or the error it would raise.
        """
        done: dict[str, bool | ResultsUnwritable] = {}
        for chunk in _chunks(list(results.items()), _BATCH_FILES):
            temps = self._durable_temps(dict(chunk), done)
            for task_id, tmp in temps.items():
                done[task_id] = self._link_temp(task_id, tmp, results[task_id])
        linked = [task_id for task_id, ok in done.items() if ok is True]
        if linked:
            self._sync_results(linked, done)
        durable = [task_id for task_id in linked if done[task_id] is True]
        if durable:
            self._drop_claims(durable, update_state=update_state)
        return done

    def _durable_temps(self, results: Mapping[str, Mapping[str, Any]],
                       done: dict[str, bool | ResultsUnwritable]) -> dict[str, Path]:
        """Write each result to a temporary file and flush them all; failures go to ``done``."""
        written: dict[str, tuple[Path, int]] = {}
        try:
            for task_id, result in results.items():
                tmp = self.path("results", task_id).with_name(
                    f".{task_id}.{secrets.token_hex(4)}.tmp")
                data = _dumps({"version": VERSION, **result})
                try:
                    written[task_id] = (tmp, _write_file(tmp, data, mode=_PRIVATE, keep=True))
                except OSError as exc:
                    done[task_id] = self._unusable(exc)
                    with contextlib.suppress(OSError):
                        tmp.unlink()
            _flush_together([fd for _, fd in written.values()])
        finally:
            for _, fd in written.values():
                os.close(fd)
        return {task_id: tmp for task_id, (tmp, _) in written.items()}

    def _link_temp(self, task_id: str, tmp: Path,
                   result: Mapping[str, Any]) -> bool | ResultsUnwritable:
        """Link a flushed temporary file to the result's name; False if the name is taken."""
        try:
            os.link(tmp, self.path("results", task_id))
            return True
        except FileExistsError:
            return False
        except FileNotFoundError:  # a hand-made cleanup took it: written again, alone
            return self._link_again(task_id, _dumps({"version": VERSION, **result}))
        except OSError as exc:
            return self._unusable(exc)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _link_again(self, task_id: str, data: bytes) -> bool | ResultsUnwritable:
        """Hard-link a fully written temporary file to the result's name; False if taken."""
        final = self.path("results", task_id)
        for attempt in range(1, _FINISH_TRIES):
            tmp = final.with_name(f".{task_id}.{secrets.token_hex(4)}.tmp")
            try:
                _write_file(tmp, data, mode=_PRIVATE)
                os.link(tmp, final)
                return True
            except FileExistsError:
                return False
            except FileNotFoundError as exc:
                if attempt == _FINISH_TRIES - 1:
                    return self._unusable(exc)
            except OSError as exc:
                return self._unusable(exc)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        return False  # not reached: the last attempt returns

    def _sync_results(self, linked: list[str], done: dict[str, bool | ResultsUnwritable]) -> None:
        """Flush ``results/`` once for every link of the batch (a link is not durable before)."""
        try:
            fd = os.open(self.root / "results", os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            for task_id in linked:
                done[task_id] = self._unusable(exc)

    def _drop_claims(self, task_ids: list[str], *, update_state: bool) -> None:
        """Remove the claims of tasks whose results are on disk (one left is closed later)."""
        with contextlib.suppress(OSError), self.lock():
            for task_id in task_ids:
                for kind in ("processing", "requests"):
                    with contextlib.suppress(OSError):
                        self.path(kind, task_id).unlink()
            if update_state:
                self._refresh_state()

    def has_result(self, task_id: str) -> bool:
        """Whether the task has a result; :class:`ResultsUnwritable` if results/ is unusable."""
        try:
            os.stat(self.path("results", task_id))
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self._unusable(exc) from None
        return True

    def unusable(self, exc: OSError) -> str:
        """Why the store cannot be worked on, naming what ``exc`` names, and the fix."""
        return (f"cannot use {exc.filename or self.root} ({exc.strerror or exc}); fix it (its "
                "owner and permissions, or a file where a folder belongs), then run the queue "
                "again")

    def _unusable(self, exc: OSError) -> ResultsUnwritable:
        return ResultsUnwritable(
            f"cannot write results to {self.root / 'results'} ({exc.strerror or exc}); "
            "fix that folder (its owner and permissions), then run the queue again")

    def result(self, task_id: str) -> dict[str, Any] | None:
        """The task's result, None before it has one.

        A result file that cannot be read comes back as a stand-in with status ``damaged``
        and a reason naming the file, so readers report it instead of failing.
        """
        path = self.path("results", task_id)
        try:
            data = _read_json(path)
        except FileNotFoundError:
            return None
        except DamagedFile as exc:
            return self._damaged(task_id, exc)
        except OSError as exc:
            return self._damaged(task_id, DamagedFile(path, exc.strerror or str(exc)))
        if not isinstance(data.get("status"), str):
            return self._damaged(task_id, DamagedFile(path, "it has no 'status'"))
        return data

    def _damaged(self, task_id: str, damage: DamagedFile) -> dict[str, Any]:
        return {"id": task_id, "status": "damaged", "damaged": str(damage.path),
                "reason": f"{damage}; the task's outcome is lost: delete the file, and "
                          "resubmit the task if it should run again",
                "log": str(self.log_path(task_id))}

    def results(self) -> Iterator[dict[str, Any]]:
        for task_id in _ids_by_age(self.root / "results"):
            found = self.result(task_id)
            if found is not None:
                yield found

    # ------------------------------------------------------------ context, state

    def write_context(self, task_id: str, text: str) -> Path:
        """Write a lazy context file readable by its owner only (0600).

        It is written aside and renamed into place, so a symlink at its name is replaced,
        never written through. :class:`StoreError` names the file and the fix.
        """
        path = self.path("context", task_id)
        try:
            _write_replacing(path, text.encode(), durable=False, mode=_PRIVATE)
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise StoreError(f"cannot write the task's context file {path} ({why}); fix "
                             f"{path.parent} (its owner and permissions), or give the task a "
                             "context short enough to go inline") from None
        return path

    def state(self) -> dict[str, Any]:
        """``state.json``; missing or damaged counts are recounted, a damaged session dropped.

        The file only summarises the folders, so the next update rewrites it whole.
        """
        try:
            state = _read_json(self.root / "state.json")
        except (FileNotFoundError, DamagedFile):
            state = {"version": VERSION}
        if not isinstance(state.get("session", {}), dict):
            del state["session"]
        if not all(type(state.get(key)) is int for key in ("queued", "active", "finished")):
            state.update(self._counts())
        return state

    def _counts(self) -> dict[str, int]:
        return {"queued": _count(self.root / "requests"),
                "active": _count(self.root / "processing"),
                "finished": _count(self.root / "results")}

    def update_state(self) -> None:
        """Recount the folders into ``state.json`` (after changes with ``update_state=False``)."""
        try:
            with self.lock():
                self._refresh_state()
        except OSError as exc:  # the store itself cannot be opened: a summary goes without
            self.state_problem = (f"{self.root / 'state.json'} could not be updated "
                                  f"({self.unusable(exc)})")

    def begin_session(self, *, owner: str, max_parallel: int, now: float) -> None:
        """Record the running coordinator's cap, for ``status``'s efficiency figure."""
        with self.lock():
            self._refresh_state(session={"owner": owner, "max_parallel": max_parallel,
                                         "started_at": now})

    def _refresh_state(self, session: dict[str, Any] | None = None) -> None:
        """Rewrite ``state.json``; a summary only, so damage is moved aside or done without."""
        try:
            state = self.state()
            state.update(self._counts(), version=VERSION, updated_at=time.time())
            if session is not None:
                state["session"] = session
            self._write_state(state)
        except OSError as exc:
            self.state_problem = (f"{self.root / 'state.json'} could not be updated "
                                  f"({exc.strerror or exc}); counts are recounted on demand")
        else:
            self.state_problem = ""

    def _write_state(self, state: dict[str, Any]) -> None:
        path = self.root / "state.json"
        try:
            _write_json(path, state, durable=False)
        except IsADirectoryError:
            os.rename(path, self.root / "rejected" / f"state.json.{secrets.token_hex(3)}")
            _write_json(path, state, durable=False)

    # ------------------------------------------------------------ retention

    def clean(self, *, older_than: float, now: float | None = None) -> list[str] | None:
        """Drop finished tasks (result, log, context) older than ``older_than`` seconds.

        A task that a live coordinator waits for (``swarm run`` and ``spawn`` name theirs in
        their lease files) is kept whatever its age, so a run always finds the results it
        reports (one that another coordinator finished in the instant between a run's submit
        and its lease is not covered: that run then reports it vanished instead of waiting).
        Temporary files go only once they are an hour old, so a result being written is never
        pulled from under its writer.

        Returns the ids removed, or None when another process holds the lock (skipped).
        """
        stamp = time.time() if now is None else now
        cutoff = stamp - older_than
        try:
            with self.lock(timeout=0):
                kept = lease.live_holds(self.root)
                removed = [i for i in _ids_by_age(self.root / "results")
                           if i not in kept and _mtime(self.path("results", i)) <= cutoff]
                for task_id in removed:
                    for kind in ("logs", "context", "results"):
                        with contextlib.suppress(FileNotFoundError):
                            self.path(kind, task_id).unlink()
                _drop_stale_tmp(self.root, min(cutoff, stamp - _TMP_MIN_AGE))
                if (self.root / "state.json").exists():  # else counts are made on demand
                    self._refresh_state()
        except TimeoutError:
            return None
        return removed


class _StateLock:
    """An exclusive ``flock`` on the ``.swarm/`` directory itself, re-entrant within a thread.

    Threads of one process queue on an in-process lock (they sleep until the holder is done
    instead of polling and fighting over the GIL); other processes wait in the kernel. A
    lock file could be replaced or made unreadable under a running store; the directory
    cannot be without breaking everything else too.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.RLock()
        self._fd = -1
        self._depth = 0

    def acquire(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if not self._local.acquire(timeout=timeout if timeout >= 0 else -1):
            raise TimeoutError(f"{self._path} is held by another thread")
        try:
            if self._depth == 0:
                left = max(0.0, deadline - time.monotonic()) if timeout >= 0 else -1.0
                self._fd = _flock(self._path, left)
        except BaseException:
            self._local.release()
            raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            fd, self._fd = self._fd, -1
            os.close(fd)  # closing the only descriptor drops the flock
        self._local.release()


def _flock(path: Path, timeout: float) -> int:
    """Open the directory ``path`` and lock it exclusively; the descriptor holds the lock."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if not lock_within(fd, timeout):
            raise TimeoutError(f"{path} is held by another process")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True).encode() + b"\n"


def _write_file(path: Path, data: bytes, *, durable: bool = True, mode: int = 0o644,
                keep: bool = False) -> int:
    """Write ``data`` to ``path``; with ``keep``, unflushed and the descriptor returned open."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        if durable and not keep:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        raise
    if keep:
        return fd
    os.close(fd)
    return -1


def _flush_together(fds: Sequence[int]) -> None:
    """fsync every file, starting all their writeback first.

    fsync'ing files one by one waits for one journal commit each; once writeback has started
    for all of them (POSIX_FADV_DONTNEED starts it on Linux), their blocks are allocated in
    the same transaction, and the first fsync commits it for all.
    """
    for fd in fds:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    for fd in fds:
        os.fsync(fd)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _write_json(path: Path, data: dict[str, Any], *, durable: bool = True,
                mode: int = 0o644) -> None:
    _write_replacing(path, _dumps(data), durable=durable, mode=mode)


def _write_replacing(path: Path, data: bytes, *, durable: bool, mode: int) -> None:
    """Write ``data`` aside and rename it to ``path``, replacing whatever stands there."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    _write_file(tmp, data, durable=durable, mode=mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _identity(st: os.stat_result) -> _Identity:
    """What tells one version of a file from another.

    A replacement changes the inode, a write the size or the times; only a write of the same
    size within one tick of the file system's clock after the stat could pass unseen.
    """
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object; :class:`DamagedFile` for anything else (FileNotFoundError passes).

    A file that cannot be read at all (a directory in its place, no permission) is damaged
    too: one such file must not stop the readers of all the others.
    """
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise DamagedFile(path, f"cannot be read ({exc.strerror or exc})") from None
    except (ValueError, RecursionError) as exc:
        raise DamagedFile(path, f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DamagedFile(path, f"a JSON {type(data).__name__}, not an object")
    return data


def _set_aside(source: Path, target: Path) -> str:
    """Move a request or claim that cannot be used to ``target`` without its env values.

    Its task has ended, so the values (tokens, keys) must not rest on disk any longer. JSON is
    kept with every ``env`` table reduced to its names; text that does not parse is not kept
    (a value in it cannot be told from the rest), only its size and digest; a file that
    cannot be read, a symlink or a directory is moved as it is (nothing here can read it).
    """
    data = _regular_bytes(source)
    if data is None:
        os.rename(source, target)
        return "kept as found: it cannot be read"
    kept, note = _without_secrets(data)
    _write_file(target, kept, mode=_PRIVATE)
    source.unlink()
    return note


def _regular_bytes(path: Path) -> bytes | None:
    """A regular file's bytes; None for anything else, or one that cannot be read.

    A symlink is not followed (its target may be anyone's file); FileNotFoundError passes.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            return fh.read() if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except OSError:
        return None


def _without_secrets(data: bytes) -> tuple[bytes, str]:
    """What ``rejected/`` keeps of a damaged request's bytes, and a note saying what that is."""
    try:
        kept = json.dumps(_env_names_only(json.loads(data)), indent=1, sort_keys=True)
    except (ValueError, RecursionError):
        digest = hashlib.sha256(data).hexdigest()
        stub = {"version": VERSION, "content": "not kept", "size": len(data), "sha256": digest,
                "why": "it is not JSON, so env values in it cannot be told apart and removed"}
        return _dumps(stub), "its content not kept: it is not JSON and may hold env values"
    return kept.encode() + b"\n", "env values removed, names kept"


def _env_names_only(value: Any) -> Any:
    """``value`` with every ``env`` entry reduced to the sorted names of its keys."""
    if isinstance(value, dict):
        return {key: (sorted(map(str, item)) if isinstance(item, dict) else [])
                if key == "env" else _env_names_only(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_env_names_only(item) for item in value]
    return value


def _ids_by_age(directory: Path) -> list[str]:
    entries = []
    for entry in _json_entries(directory):
        with contextlib.suppress(FileNotFoundError):
            entries.append((entry.stat().st_mtime_ns, entry.name[:-5]))
    return [name for _, name in sorted(entries)]


def _count(directory: Path) -> int:
    return len(_json_entries(directory))


def _json_entries(directory: Path) -> list[os.DirEntry[str]]:
    """The JSON files of a store folder; none when a read-only store lacks the folder."""
    try:
        with os.scandir(directory) as it:
            return [e for e in it if e.name.endswith(".json") and not e.name.startswith(".")]
    except FileNotFoundError:
        return []


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _drop_stale_tmp(root: Path, cutoff: float) -> None:
    for directory in ("requests", "processing", "results", "logs"):
        for tmp in (root / directory).glob(".*.tmp"):
            if _mtime(tmp) <= cutoff:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
