"""The coordinator: claims queued tasks, starts workers under the caps, and writes results.

One anyio task group owns every worker. The loop wakes when a worker ends, a probe answers or
the poll interval passes; each pass reads the queue, starts probes for backends that need
one, fails tasks whose backend stays down, and starts whatever admission allows. Every few
seconds it also looks for coordinators that died, and recovers their claims.

A request that cannot be read is moved aside and its task fails; the others carry on.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import anyio

from hookswarm.lib import process, process_async, process_scan
from hookswarm.lib.swarm.backend import Backend, Health, Launch, Worker, WorkerEnd
from hookswarm.lib.swarm.claims import OtherClaims
from hookswarm.lib.swarm.config import Limits, SwarmConfig, limits_for
from hookswarm.lib.swarm.context import compose, needs_file
from hookswarm.lib.swarm.evidence import (
    Ending,
    FileFact,
    Status,
    Stop,
    Verdict,
    file_facts,
    fresh,
    verdict,
)
from hookswarm.lib.swarm.health import HealthBoard
from hookswarm.lib.swarm.lease import OWNER_ENV, Lease, someone_died
from hookswarm.lib.swarm.ownership import absolute_globs
from hookswarm.lib.swarm.recovery import recover
from hookswarm.lib.swarm.registry import backends as all_backends
from hookswarm.lib.swarm.result import Run, TaskResult
from hookswarm.lib.swarm.scheduler import Slot, admit
from hookswarm.lib.swarm.servers import serving
from hookswarm.lib.swarm.settle import TASK_ID_ENV, Settler
from hookswarm.lib.swarm.store import DamagedFile, Envelope, ResultsUnwritable, Store
from hookswarm.lib.swarm.supervisor import Watch, supervise
from hookswarm.lib.swarm.tasklog import TaskLog

if TYPE_CHECKING:
    from hookswarm.lib.swarm.task import Task

CANCELLED = "cancelled: the coordinator was stopped (Ctrl-C/SIGTERM)"
_LEASE_CHECK = 2.0  # seconds between looks for dead coordinators (a few syscalls each)
OnEvent = Callable[[dict[str, Any]], None]
_KEPT = {True: "the outcome is kept on its claim in processing/, and the next coordinator "
               "writes it once results/ can be written, without running the task again",
         False: "its claim could not keep the outcome either, so the next coordinator runs "
                "it again, as a retry"}


@dataclass(slots=True)
class _Queued:
    envelope: Envelope
    slot: Slot
    seen: float
    waiting_noted: bool = False


@dataclass(slots=True)
class _Timing:
    seen: float
    admitted: float
    started_wall: float = 0.0
    spawned: float = 0.0
    before: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()


async def _start_threads(count: int) -> None:
    """Start the worker threads results are written from, before the first burst needs them.

    anyio starts a thread when a call finds none idle, and starting one costs the event loop
    about as much as handling a worker's exit; a burst of exits would pay for it in its tail.
    Each call holds its thread until all have started, so ``count`` distinct threads remain
    idle (anyio lets them go after a while; the ones needed later start on demand again).
    """
    limiter = anyio.to_thread.current_default_thread_limiter()
    barrier = threading.Barrier(max(1, min(count, int(limiter.available_tokens))))

    def arrive() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1.0)  # only if something else took the limiter's tokens

    async with anyio.create_task_group() as group:
        for _ in range(barrier.parties):
            group.start_soon(anyio.to_thread.run_sync, arrive)


class Coordinator:
    """Runs the tasks of one ``.swarm/`` store; ``on_event`` sees every state change."""

    def __init__(self, store: Store, config: SwarmConfig, *,
                 backends: Mapping[str, Backend] | None = None,
                 environ: Mapping[str, str] | None = None,
                 on_event: OnEvent | None = None) -> None:
        self.store = store
        self.config = config
        self._environ = dict(os.environ if environ is None else environ)
        self.backends = dict(backends) if backends is not None else all_backends(
            config, environ=self._environ)
        self.health = HealthBoard(ttl=config.health.ttl)
        self._on_event = on_event
        self._queued: dict[str, _Queued] = {}
        self._active: dict[str, Slot] = {}
        self._wake: Any = None
        self._owner = ""
        self._others = OtherClaims(store, "")
        self._settler = Settler(store, "")
        self._seq = 0
        self._state_dirty = False
        self._state_synced = 0.0
        self._leases_checked = 0.0
        self._wanted: frozenset[str] | None = None
        self._ended: set[str] = set()
        self._shared_env: process_async.Environment | None = None
        self._rejected: set[str] = set()
        self._project = os.path.realpath(store.root.parent)  # resolved once, not per spawn
        self.results: dict[str, TaskResult] = {}  # what it wrote for the tasks in ``only``
        self.halted = ""  # why it stopped admitting (results/ cannot be written)

    async def run(self, *, only: Sequence[str] | None = None, until_idle: bool = True) -> None:
        """Work until ``only`` (or, with ``until_idle``, the whole queue) is done or cancelled.

        Cancelled, a coordinator asked for ``only`` these tasks stops their workers and fails
        every one without a result, so no later ``serve`` runs them behind the user's back; a
        coordinator working the whole queue requeues its running tasks instead.
        """
        wanted = list(only) if only is not None else None
        self._wanted = frozenset(wanted) if wanted is not None else None
        lease = Lease.acquire(self.store.root, holds=wanted or ())
        self._owner = lease.owner
        self._shared_env = None
        self._others = OtherClaims(self.store, lease.owner)
        self._settler = Settler(self.store, lease.owner)
        was_reaper = process_scan.child_subreaper(True)
        try:
            try:
                self._recover()
            except (ResultsUnwritable, OSError) as exc:
                self._halt(self._why(exc))
            self.store.begin_session(owner=lease.owner, max_parallel=self.config.max_parallel,
                                     now=time.time())
            try:
                await _start_threads(self.config.max_parallel)
                async with (serving(self.backends.values(), self.store.root,
                                    marker={OWNER_ENV: lease.owner}),
                            anyio.create_task_group() as group):
                    await self._loop(group, wanted, until_idle)
            except anyio.get_cancelled_exc_class():
                self._fail_unstarted()
                raise
        finally:
            try:
                self._settler.sweep_all()
                process_scan.child_subreaper(was_reaper)
                self._update_state()
            finally:
                lease.release(keep_file=bool(self.halted))

    def _recover(self) -> None:
        """Recover the claims of dead coordinators (at the start, then every few seconds)."""
        self._leases_checked = time.monotonic()
        found = recover(self.store, max_attempts=self.config.max_attempts)
        for task_id, reason in found.rejected:
            self._emit("ended", task_id, status="failed", reason=reason)
        if found.requeued or found.failed or found.killed:
            self._state_dirty = True
            self._emit("recovered", "", requeued=list(found.requeued),
                       failed=list(found.failed), killed=found.killed)

    def _recover_dead(self) -> None:
        if time.monotonic() - self._leases_checked < _LEASE_CHECK:
            return
        if someone_died(self.store.root):
            self._recover()
        else:
            self._leases_checked = time.monotonic()

    def _fail_unstarted(self) -> None:
        """After a cancel, fail the asked-for tasks still queued (running ones failed already)."""
        if self._wanted is None:
            return
        left = [i for i in self._wanted if i not in self._ended]
        known = {i: q.envelope for i, q in self._queued.items()}
        for envelope in self.store.claim(left, owner=self._owner, known=known,
                                         update_state=False):
            queued = self._queued.get(envelope.task.id)
            self._finish_failed(envelope, f"{CANCELLED} before the task started",
                                queued_s=time.monotonic() - queued.seen if queued else 0.0)

    # ------------------------------------------------------------ the loop

    async def _loop(self, group: Any, wanted: list[str] | None, until_idle: bool) -> None:
        while True:
            self._wake = anyio.Event()
            try:
                await self._pass(group, wanted)
                done = (until_idle or self.halted) and self._idle(wanted)
            except (ResultsUnwritable, OSError) as exc:
                self._halt(self._why(exc))
                done = self._idle(wanted)
            if done:
                self._left_queued(wanted)
                return
            with anyio.move_on_after(self.config.poll_interval):
                await self._wake.wait()

    async def _pass(self, group: Any, wanted: list[str] | None) -> None:
        self._refresh_queue(wanted)
        if self._start_probes(group):
            await anyio.lowlevel.checkpoint()  # a probe without I/O answers before admission
        if not self.halted:
            self._fail_unusable()
            self._start_admitted(group)
        self._recover_dead()
        self._sync_state()

    def _halt(self, reason: str) -> None:
        """Stop admitting: a task that ran could not end with a result."""
        if not self.halted:
            self.halted = reason
            self._emit("halted", "", reason=reason)

    def _why(self, exc: Exception) -> str:
        """A halt's reason: the store says which file or folder, and how to fix it."""
        return self.store.unusable(exc) if isinstance(exc, OSError) else str(exc)

    def _left_queued(self, wanted: list[str] | None) -> None:
        """After a halt, tell a ``run`` which of its tasks stay queued, and why."""
        if not self.halted or wanted is None:
            return
        for task_id in wanted:
            if task_id not in self._ended and task_id in self._queued:
                queued = self._queued[task_id]
                reason = (f"not started: {self.halted}; it stays queued in "
                          f"{self.store.root / 'requests'}")
                self._ended_with(task_id, self._failed(queued.envelope, reason), True)
                self._emit("ended", task_id, status="failed", reason=reason)

    def _refresh_queue(self, wanted: list[str] | None) -> None:
        pending = self.store.pending()
        if wanted is not None:
            present = set(pending)
            pending = [i for i in wanted if i in present]
        for gone in set(self._queued) - set(pending):
            del self._queued[gone]
        for task_id in pending:
            if task_id not in self._queued and task_id not in self._active:
                self._enqueue(task_id)

    def _enqueue(self, task_id: str) -> None:
        try:
            envelope = self.store.request(task_id)
        except DamagedFile as exc:
            self._reject(task_id, exc)
            return
        if envelope is None:
            return
        task = envelope.task
        backend = self.backends.get(task.backend)
        key = backend.health_key(task) if backend else f"{task.backend}?"
        slot = Slot(task.id, task.backend, key, absolute_globs(task.cwd, task.write_globs))
        self._queued[task_id] = _Queued(envelope, slot, time.monotonic())
        self._emit("queued", task_id, backend=task.backend)

    def _start_probes(self, group: Any) -> bool:
        """Start one probe per stale key; True if any started."""
        started: set[str] = set()
        for queued in self._queued.values():
            key = queued.slot.health_key
            backend = self.backends.get(queued.slot.backend)
            if (backend and key not in started and self.health.stale(key)
                    and not self.health.probing(key)):
                started.add(key)
                group.start_soon(self._probe, key, backend, queued.envelope.task)
        return bool(started)

    async def _probe(self, key: str, backend: Backend, task: Task) -> None:
        timeout = self.config.health.probe_timeout
        health = await self.health.check(key, lambda: backend.probe(task, timeout=timeout))
        self._emit("health", "", key=key, ok=health.ok, detail=health.detail)
        self._wake.set()

    def _usable(self) -> set[str]:
        keys = {q.slot.health_key for q in self._queued.values()}
        return {k for k in keys if (h := self.health.known(k)) is not None and h.ok}

    def _fail_unusable(self) -> None:
        give_up: list[tuple[str, str]] = []
        for task_id, queued in self._queued.items():
            reason = self._unusable_reason(queued)
            if reason is None:
                continue
            key = queued.slot.health_key
            if self._must_fail(key):
                give_up.append((task_id, reason + self._gave_up(key)))
            elif not queued.waiting_noted:
                queued.waiting_noted = True
                self._emit("waiting", task_id, reason=self._waiting_reason(key))
        for task_id, reason in give_up:
            self._fail_now(task_id, reason)

    def _unusable_reason(self, queued: _Queued) -> str | None:
        if queued.slot.backend not in self.backends:
            return f"no backend named '{queued.slot.backend}'"
        health = self.health.known(queued.slot.health_key)
        if health is None or health.ok:
            return None
        return f"backend {queued.slot.health_key} unavailable: {health.detail}"

    def _waiting_reason(self, key: str) -> str:
        """What a task waits for, for how long at most, and how to stop waiting sooner."""
        health = self.health.known(key)
        left = math.ceil(max(0.0, self.config.health.wait_limit - self.health.failing_for(key)))
        return (f"waiting up to {left} s for backend {key} (unavailable: "
                f"{health.detail if health else 'not probed yet'}); fix that, or set [health] "
                'on_unhealthy = "fail" or a smaller wait_limit in .swarm/config.toml to fail '
                "sooner")

    def _gave_up(self, key: str) -> str:
        settings = self.config.health
        if settings.on_unhealthy == "fail" or key.endswith("?") or self._missing(key):
            return ""
        return (f" (the backend has been unavailable for {self.health.failing_for(key):.0f} s, "
                f"past the [health] wait_limit of {settings.wait_limit:g} s)")

    def _must_fail(self, key: str) -> bool:
        settings = self.config.health
        return (settings.on_unhealthy == "fail" or key.endswith("?") or self._missing(key)
                or self.health.failing_for(key) >= settings.wait_limit)

    def _missing(self, key: str) -> bool:
        """Not installed: waiting cannot help (not merely down for a while)."""
        health = self.health.known(key)
        return health is not None and health.missing

    def _reject(self, task_id: str, damage: DamagedFile) -> None:
        """A request that cannot be read: moved aside, its task failed, one message."""
        result = self.store.reject("requests", task_id, damage)
        self._state_dirty = True
        if result is not None:
            self._ended_with(task_id, result, True)
        if task_id not in self._rejected:  # one left in place is met again on every pass
            self._rejected.add(task_id)
            self._emit("ended", task_id, status="failed",
                       reason=result.reason if result else str(damage))

    def _fail_now(self, task_id: str, reason: str) -> None:
        queued = self._queued.pop(task_id)
        if self.store.claim([task_id], owner=self._owner, update_state=False):
            self._finish_failed(queued.envelope, reason,
                                queued_s=time.monotonic() - queued.seen)

    def _finish_failed(self, envelope: Envelope, reason: str, *, queued_s: float = 0.0) -> None:
        """Fail a claimed task that did not run (or whose run was stopped) with ``reason``."""
        task_id = envelope.task.id
        result = self._failed(envelope, reason, queued_s=queued_s)
        self._state_dirty = True
        self._ended_with(task_id, result,
                         self.store.finish(task_id, result.to_json(), update_state=False))
        self._emit("ended", task_id, status="failed", reason=reason)

    def _ended_with(self, task_id: str, result: TaskResult, written: bool) -> None:
        if self._wanted is not None and task_id in self._wanted:
            self._ended.add(task_id)
            if written:
                self.results[task_id] = result

    def _failed(self, envelope: Envelope, reason: str, *, queued_s: float = 0.0) -> TaskResult:
        """A ``failed`` result for a task that never ran, or whose run the coordinator lost.

        ``queued_s`` is how long it sat in the queue here (waiting for a backend, say).
        """
        task = envelope.task
        return TaskResult.not_run(task, reason, log=str(self.store.log_path(task.id)),
                                  attempt=envelope.attempt, queued_s=queued_s)

    def _start_admitted(self, group: Any) -> None:
        """Admit against every live coordinator's running claims, and claim under one lock."""
        usable = self._usable()
        if not usable:
            return
        # An HTTP backend is also capped by its configured pools' total concurrency.
        caps = {name: min(self.config.cap(name), getattr(b, "capacity", lambda: 1 << 30)())
                for name, b in self.backends.items()}
        with self.store.lock():
            running = [*self._active.values(), *self._others.slots(self._active)]
            chosen = admit([q.slot for q in self._queued.values()], running,
                           max_parallel=self.config.max_parallel, caps=caps, usable=usable)
            if not chosen:
                return
            batch = [self._queued.pop(task_id) for task_id in chosen]
            for queued in batch:
                self._active[queued.slot.id] = queued.slot
            launched = self._launch(batch, time.monotonic())
        for envelope, timing, worker in launched:
            group.start_soon(self._run_one, envelope, timing, worker)

    def _launch(self, batch: list[_Queued],
                admitted: float) -> list[tuple[Envelope, _Timing, Worker | WorkerEnd]]:
        """Claim an admitted batch and start its workers under one hold of the state lock.

        The claim files (owner and worker) are written after the last worker has started
        (see ``Store.claiming``), so each worker waits only for the spawns before it. The
        workers' start times are read from /proc after the last spawn too: reading them while
        a child is still inside exec waits for the exec to finish. The ``started`` events go
        out last, stamped with each spawn's time: showing progress may write to a terminal.
        """
        known = {q.slot.id: q.envelope for q in batch}
        seen = {q.slot.id: q.seen for q in batch}
        launched: list[tuple[Envelope, _Timing, Worker | WorkerEnd]] = []
        try:
            with self.store.claiming(list(known), owner=self._owner, known=known) as claimed:
                for envelope in claimed:
                    timing = _Timing(seen[envelope.task.id], admitted)
                    launched.append((envelope, timing, self._start(envelope, timing)))
                for envelope, _, worker in launched:
                    if not isinstance(worker, WorkerEnd) and worker.pid is not None:
                        envelope.worker = {"pid": worker.pid,
                                           "start_ticks": process_scan.start_ticks(worker.pid) or 0}
        except BaseException:
            for _, _, worker in launched:
                if not isinstance(worker, WorkerEnd) and worker.pid is not None:
                    process.kill_group(worker.pid)
            launched.clear()  # no task watches them: their slots go, recovery requeues them
            raise
        finally:
            self._state_dirty = True
            for task_id in set(known) - {envelope.task.id for envelope, _, _ in launched}:
                del self._active[task_id]  # another coordinator took it
        for envelope, timing, worker in launched:
            if not isinstance(worker, WorkerEnd):
                self._emit("started", envelope.task.id, at=timing.spawned, pid=worker.pid,
                           spawn_ms=round((timing.spawned - timing.admitted) * 1000, 3))
        return launched

    def _sync_state(self) -> None:
        """Recount state.json after claims and results: at most once per poll interval.

        A burst of claims or results costs one recount instead of one each; ``run`` ends
        with a recount, so state.json is exact whenever no coordinator is working.
        """
        now = time.monotonic()
        if self._state_dirty and now - self._state_synced >= self.config.poll_interval:
            self._state_dirty = False
            self._state_synced = now
            self._update_state()

    def _update_state(self) -> None:
        """Recount state.json; say once when it cannot be written (the run goes on)."""
        noted = self.store.state_problem
        self.store.update_state()
        if self.store.state_problem and self.store.state_problem != noted:
            self._emit("warned", "", problem=self.store.state_problem)

    def _idle(self, wanted: list[str] | None) -> bool:
        if self._active:
            return False
        if self.halted:
            return True
        if wanted is None:
            return not self._queued
        return all(self._settled(task_id) for task_id in wanted)

    def _settled(self, task_id: str) -> bool:
        """Whether an asked-for task ended here, elsewhere, or vanished from the store."""
        if task_id in self._ended or self.store.has_result(task_id):
            return True
        if task_id in self._queued or self.store.known(task_id):
            return False
        with self.store.lock():  # a task moving between folders is in one of them again
            if self.store.known(task_id):
                return False
        self._ended.add(task_id)
        self._emit("ended", task_id, status="vanished",
                   reason="its files were removed from .swarm/ before it had a result")
        return True

    # ------------------------------------------------------------ one task

    async def _run_one(self, envelope: Envelope, timing: _Timing,
                       worker: Worker | WorkerEnd) -> None:
        """Run and judge one started task; its slot is held until the result is written."""
        task_id = envelope.task.id
        try:
            try:
                result = await self._execute(envelope, timing, worker)
            except Exception as exc:  # one task's I/O error must not stop the other workers
                result = self._failed(envelope, f"the coordinator could not run it: "
                                                f"{type(exc).__name__}: {exc}",
                                      queued_s=timing.admitted - timing.seen)
            pid = None if isinstance(worker, WorkerEnd) else worker.pid
            result, written = await self._write(result, pid)
            self._state_dirty = True
            self._ended_with(task_id, result, written)
            self._emit("ended", task_id, status=result.status.value, reason=result.reason)
        finally:
            del self._active[task_id]
            if self._queued or not self._active:  # a slot to fill, or maybe the end of the run
                self._wake.set()

    async def _write(self, result: TaskResult,
                     worker_pid: int | None) -> tuple[TaskResult, bool]:
        """Settle the task; a result that cannot be written fails it (in memory) and halts."""
        try:
            written = await self._settler.settle(result, worker_pid)
        except (ResultsUnwritable, OSError) as exc:
            self._halt(self._why(exc))
            kept = await anyio.to_thread.run_sync(self.store.keep_outcome, result.id,
                                                  result.to_json())
            reason = (f"its result could not be written: {self._why(exc)} (the worker's own "
                      f"outcome: {result.status.value}: {result.reason}); {_KEPT[kept]}")
            return replace(result, status=Status.FAILED, reason=reason), True
        return result, written

    async def _execute(self, envelope: Envelope, timing: _Timing,
                       worker: Worker | WorkerEnd) -> TaskResult:
        task = envelope.task
        end, watch = await self._work(envelope, limits_for(self.config, task), worker, timing)
        ended = time.time()
        if end.unreachable:
            self.health.report(self._active[task.id].health_key, Health(False, end.reason))
        ending = Ending(watch.stop if watch else Stop.NONE, end.clean,
                        (watch.stop_reason if watch else "") or end.reason, end.denials)
        facts = file_facts(task.expected_paths())
        judged = verdict(ending, facts, before=timing.before or {})
        return self._result(envelope, judged, end, watch, timing, ended, facts)

    async def _work(self, envelope: Envelope, limits: Limits, worker: Worker | WorkerEnd,
                    timing: _Timing) -> tuple[WorkerEnd, Watch | None]:
        """Watch a started worker; its log is opened only now.

        Output waits in the worker's pipe until ``supervise`` reads it, so opening the log
        after the spawn loses nothing and keeps the file creation off the spawn path.
        """
        task = envelope.task
        log = TaskLog(self.store.log_path(task.id), cap=self.config.log_max)
        if isinstance(worker, WorkerEnd):
            log.close()
            return worker, None
        try:
            try:
                return await supervise(worker, limits, log=log.write,
                                       notify=lambda kind, data: self._emit(kind, task.id, **data))
            finally:
                log.close()
                if log.problem:
                    timing.notes += (log.problem,)
        except BaseException as exc:  # cancelled, or the log failed: no worker outlives its task
            with anyio.CancelScope(shield=True):
                await worker.stop(grace=limits.grace)
                if isinstance(exc, anyio.get_cancelled_exc_class()):
                    self._give_back(envelope)
            raise

    def _give_back(self, envelope: Envelope) -> None:
        """A task whose worker a cancel stopped: requeued by ``serve``, failed for ``run``."""
        if self._wanted is not None:
            self._finish_failed(envelope, CANCELLED)
            return
        self.store.requeue(envelope.task.id, attempt=envelope.attempt)
        self._emit("requeued", envelope.task.id)

    def _start(self, envelope: Envelope, timing: _Timing) -> Worker | WorkerEnd:
        task = envelope.task
        timing.before = {f.path: f for f in file_facts(task.expected_paths())}
        timing.started_wall = time.time()
        worker = self._spawn(task, timing)
        timing.spawned = time.monotonic()
        return worker

    def _spawn(self, task: Task, timing: _Timing) -> Worker | WorkerEnd:
        if not os.path.isdir(task.cwd):
            return WorkerEnd.launch_failed(f"the task's cwd {task.cwd} is not a directory")
        escapes = task.outside(self._project, root_is_real=True)
        if escapes and not task.allow_outside:
            key, path = escapes[0]
            return WorkerEnd.launch_failed(f"its {key} {path!r} is outside the project; keep "
                                           "the task inside it, or set allow_outside = true")
        if escapes:
            timing.notes = ("allowed outside the project: "
                            + ", ".join(f"{key} {path!r}" for key, path in escapes),)
        try:
            launch = Launch(task, self._prompt(task), self._worker_env(task))
            return self.backends[task.backend].start(launch)
        except Exception as exc:  # one task's bad input must not stop the other workers
            return WorkerEnd.launch_failed(f"{type(exc).__name__}: {exc}")

    def _prompt(self, task: Task) -> str:
        if not needs_file(task.context, inline_limit=self.config.inline_context):
            return compose(task.prompt, task.context, context_file=None)
        path = self.store.write_context(task.id, task.context)
        return compose(task.prompt, task.context, context_file=str(path.resolve()))

    def _worker_env(self, task: Task) -> process_async.Environment:
        if self._shared_env is None:  # made on the first spawn: a bad name fails tasks, not run
            self._shared_env = process_async.Environment({**self._environ,
                                                          OWNER_ENV: self._owner})
        return self._shared_env.plus({TASK_ID_ENV: task.id, **task.env})

    def _result(self, envelope: Envelope, judged: Verdict, end: WorkerEnd, watch: Watch | None,
                timing: _Timing, ended: float, facts: Sequence[FileFact]) -> TaskResult:
        task = envelope.task
        before = timing.before or {}
        evidence = tuple({"path": f.path, "exists": f.exists, "size": f.size,
                          "fresh": fresh(f, before.get(f.path))} for f in facts)
        run = Run(end.model or task.model, end.exit_code, (timing.spawned - timing.admitted) * 1000,
                  tuple(watch.deadlines) if watch else (), watch.warned if watch else False,
                  watch.output_bytes if watch else 0, evidence, dict(end.details))
        return TaskResult.judged(task, judged.status, judged.reason,
                                 log=str(self.store.log_path(task.id)), attempt=envelope.attempt,
                                 started_at=timing.started_wall, ended_at=ended,
                                 queued_s=timing.admitted - timing.seen, run=run,
                                 notes=timing.notes)

    def _emit(self, kind: str, task_id: str, *, at: float | None = None, **data: Any) -> None:
        """Tell ``on_event``; ``at``: when it happened (monotonic), if earlier than now."""
        self._seq += 1
        if self._on_event is not None:
            self._on_event({"seq": self._seq, "t": time.monotonic() if at is None else at,
                            "kind": kind, "id": task_id, **data})
