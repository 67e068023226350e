"""Running a plan: phase by phase through the coordinator, contracts checked, gates run.

Everything a run learns goes to ``.swarm/plans/NAME/``: ``state.json`` (per phase and task:
status, reason, evidence, lines changed, time), each gate's output, the contracts as they
were at their gate, and the pre-images lines are counted against. ``resume`` keeps what
passed: phases whose gate passed are skipped, and in the phase that stopped only the tasks
that did not succeed run again, before its checks and gates run again.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from hookswarm.lib import process
from hookswarm.lib.swarm.plan import Phase, Plan, PlanError, writers
from hookswarm.lib.swarm.task import Task, new_id

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from hookswarm.lib.swarm.batch import Runner

PASSED, FAILED, PENDING = "passed", "failed", "pending"
CONTRACT_BROKEN = "contract_broken"
_GATE_OUTPUT = 1 << 20


def plan_dir(store_root: Path, name: str) -> Path:
    return store_root / "plans" / name


def sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError):
        return None


def changed(recorded: Mapping[str, str], now: Mapping[str, str | None]) -> list[str]:
    """The contracts whose checksum on disk differs from the one recorded at their gate."""
    return [path for path, digest in recorded.items() if now.get(path) != digest]


def to_rerun(tasks: Sequence[Task], before: Mapping[str, Any]) -> list[Task]:
    """The phase's tasks that have not succeeded yet (all of them the first time)."""
    return [t for t in tasks if (before.get(t.id) or {}).get("status") != "succeeded"]


def work_seconds(result: Mapping[str, Any]) -> float:
    """How long a task worked: a model task's answer time (not its wait for an endpoint slot,
    which would count the same wait twice), else its duration."""
    answer = (result.get("worker") or {}).get("answer_s")
    return float(answer if answer is not None else result.get("duration_s") or 0.0)


def time_saved(batches: Sequence[Mapping[str, float]]) -> dict[str, float | None]:
    """Measured: the task runs' wall time against the sum of the tasks' own durations."""
    wall = sum(b["wall_s"] for b in batches)
    serial = sum(b["task_s"] for b in batches)
    saved = serial - wall
    return {"wall_s": round(wall, 3), "serial_s": round(serial, 3), "saved_s": round(saved, 3),
            "saved_pct": round(100 * saved / serial, 1) if serial > 0 else None}


class PlanRun:
    """One plan's run state on disk, and the steps that advance it."""

    def __init__(self, plan: Plan, store_root: Path, runner: Runner, *,
                 environ: Mapping[str, str] | None = None) -> None:
        self.plan = plan
        self.dir = plan_dir(store_root, plan.name)
        self.runner = runner
        self._environ = dict(os.environ if environ is None else environ)
        self.state: dict[str, Any] = {}
        self._git_repo: bool | None = None

    # ------------------------------------------------------------ state on disk

    def fresh(self) -> None:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self.state = {"plan": self.plan.name, "source": self.plan.source, "root": self.plan.root,
                      "status": "running", "started_at": time.time(), "phases": {
                          p.name: _phase_state() for p in self.plan.phases}}
        self.save()

    def load(self) -> None:
        path = self.dir / "state.json"
        try:
            self.state = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError):
            raise PlanError(f"no run of plan '{self.plan.name}' to resume ({path} is missing "
                            "or damaged); start one with `swarm plan run`") from None
        for phase in self.plan.phases:
            self.state["phases"].setdefault(phase.name, _phase_state())
        self._check_kept_contracts()

    def save(self) -> None:
        tmp = self.dir / "state.json.tmp"
        tmp.write_text(json.dumps(self.state, indent=2))
        os.replace(tmp, self.dir / "state.json")

    def _check_kept_contracts(self) -> None:
        recorded = self._recorded_contracts()
        broken = changed(recorded, self._digests(recorded))
        if broken:
            copy = self.dir / "contracts" / broken[0]
            raise PlanError(f"contract '{broken[0]}' is not what its gate passed; restore it "
                            f"(cp {copy} {broken[0]}) and resume, or start over with "
                            "`swarm plan run`")

    # ------------------------------------------------------------ the run

    async def run(self) -> dict[str, Any]:
        """Run every phase not yet passed; stop at the first that fails. Returns the state."""
        self.state["status"] = "running"
        for phase in self.plan.phases:
            if self.state["phases"][phase.name]["status"] == PASSED:
                continue
            if not await self._phase(phase):
                self.state["status"] = FAILED
                self.save()
                return self.state
        self.state["status"] = PASSED
        self.save()
        return self.state

    async def _phase(self, phase: Phase) -> bool:
        record = self.state["phases"][phase.name]
        record["runs"] += 1
        tasks = to_rerun(phase.tasks, record["tasks"])
        if tasks:
            await self._run_tasks(phase, tasks, record)
        problem = (self._contracts_kept(phase, tasks, record) or _unsuccessful(phase, record)
                   or self._own_contracts(phase, record))
        if not problem:
            problem = await self._gates(phase, record)
        record["status"], record["reason"] = (FAILED, problem) if problem else (PASSED, "")
        self.save()
        return not problem

    async def _run_tasks(self, phase: Phase, tasks: Sequence[Task],
                         record: dict[str, Any]) -> None:
        pre = self._pre_images(phase, tasks)
        copies = [t.model_copy(update={"id": new_id(t.id)}) for t in tasks]
        start = time.monotonic()
        results = await self.runner(copies)
        wall = time.monotonic() - start
        record["batches"].append({"wall_s": round(wall, 6),
                                  "task_s": round(sum(work_seconds(r) for r in results), 6)})
        for task, result in zip(tasks, results, strict=True):
            runs = (record["tasks"].get(task.id) or {}).get("runs", 0) + 1
            record["tasks"][task.id] = self._task_record(task, result, pre, runs)

    def _task_record(self, task: Task, result: Mapping[str, Any], pre: Path,
                     runs: int) -> dict[str, Any]:
        written = [_relative(e["path"], self.plan.root) for e in result.get("evidence") or ()
                   if e.get("exists") and e.get("fresh") and e.get("size")]
        return {"id": task.id, "store_id": result.get("id"), "status": result.get("status"),
                "reason": result.get("reason", ""), "duration_s": round(work_seconds(result), 6),
                "log": result.get("log"), "runs": runs, "files_written": written,
                "lines": {path: self._numstat(pre / task.id / path, path) for path in written}}

    def _pre_images(self, phase: Phase, tasks: Sequence[Task]) -> Path:
        """Copies of the files the tasks are expected to write, as they are before the run."""
        pre = self.dir / "pre" / phase.name
        for task in tasks:
            shutil.rmtree(pre / task.id, ignore_errors=True)
            for path in task.expected_paths():
                source = Path(path)
                if source.is_file():
                    target = pre / task.id / _relative(path, self.plan.root)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
        return pre

    def _numstat(self, before: Path, path: str) -> list[int] | None:
        """[added, removed] lines, from git; None when the folder is not a git repository."""
        if self._git_repo is None:
            self._git_repo = _in_git(self.plan.root, self._environ)
        if not self._git_repo:
            return None
        old = str(before) if before.is_file() else os.devnull
        outcome = _git(["diff", "--no-index", "--numstat", "--", old, path], self.plan.root,
                       self._environ)
        fields = outcome.stdout.decode(errors="replace").split("\t")
        if outcome.exit_code not in (0, 1) or (fields[0] and not fields[0].isdigit()):
            return None
        return [int(fields[0]), int(fields[1])] if len(fields) >= 2 else [0, 0]

    # ------------------------------------------------------------ the checks

    def _recorded_contracts(self) -> dict[str, str]:
        recorded: dict[str, str] = {}
        for phase in self.plan.phases:
            if self.state["phases"][phase.name]["status"] == PASSED:
                recorded.update(self.state["phases"][phase.name]["contracts"])
        return recorded

    def _digests(self, paths: Mapping[str, str] | Sequence[str]) -> dict[str, str | None]:
        return {p: sha256(Path(self.plan.root) / p) for p in paths}

    def _contracts_kept(self, phase: Phase, ran: Sequence[Task], record: dict[str, Any]) -> str:
        recorded = self._recorded_contracts()
        broken = changed(recorded, self._digests(recorded))
        if not broken:
            return ""
        path = broken[0]
        blamed = writers(ran, path, self.plan.root) or [t.id for t in ran]
        diff = self._contract_diff(phase, path)
        for task_id in blamed:
            task = record["tasks"][task_id]
            task["status"] = CONTRACT_BROKEN
            task["reason"] = f"changed the contract {path} (diff: {diff})"
        suspects = ("no task ran: it was changed by hand" if not blamed else
                    f"task {blamed[0]}" if len(blamed) == 1 else
                    f"one of the tasks {', '.join(blamed)}")
        return (f"contract '{path}' changed during phase '{phase.name}' ({suspects}); the "
                f"diff is in {diff}; restore it (cp "
                f"{self.dir / 'contracts' / path} {path}), fix the task, then `swarm plan "
                "resume`")

    def _contract_diff(self, phase: Phase, path: str) -> Path:
        kept = self.dir / "contracts" / path
        now = Path(self.plan.root) / path
        old = kept.read_text(errors="replace").splitlines(keepends=True)
        new = now.read_text(errors="replace").splitlines(keepends=True) if now.is_file() else []
        out = self.dir / "evidence" / f"{phase.name}-{path.replace('/', '_')}.diff"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(difflib.unified_diff(old, new, f"{path} (at its gate)",
                                                    f"{path} (now)")))
        return out

    def _own_contracts(self, phase: Phase, record: dict[str, Any]) -> str:
        digests = self._digests(phase.contracts)
        missing = [p for p, d in digests.items()
                   if d is None or not (Path(self.plan.root) / p).stat().st_size]
        if missing:
            return (f"contract '{missing[0]}' was not produced (missing or empty); the task "
                    "that owns it must write it")
        for path, digest in digests.items():
            record["contracts"][path] = digest
            copy = self.dir / "contracts" / path
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(self.plan.root) / path, copy)
        return ""

    async def _gates(self, phase: Phase, record: dict[str, Any]) -> str:

        record["gates"] = []
        for n, command in enumerate(phase.gates, 1):
            log = self.dir / "gates" / f"{phase.name}-{n}.log"
            gate = await anyio.to_thread.run_sync(self._gate, command, log)
            record["gates"].append(gate)
            if not gate["passed"]:
                return (f"gate `{command}` {gate['why']}; its output is in {log}; fix it, "
                        "then `swarm plan resume`")
        return ""

    def _gate(self, command: str, log: Path) -> dict[str, Any]:
        start = time.monotonic()
        child = process.start(process.shell_argv(command), cwd=self.plan.root,
                              env=self._environ)
        outcome = child if isinstance(child, process.ProcessOutcome) else child.communicate(
            b"", timeout=self.plan.gate_timeout, max_output=_GATE_OUTPUT)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_bytes(outcome.stdout + outcome.stderr + outcome.launch_error.encode())
        why = ("could not start: " + outcome.launch_error if outcome.launch_error
               else f"took longer than {self.plan.gate_timeout:g} s" if outcome.timed_out
               else f"exited {outcome.exit_code}")
        return {"command": command, "exit_code": outcome.exit_code, "passed":
                outcome.exit_code == 0, "why": why, "log": str(log),
                "seconds": round(time.monotonic() - start, 3)}


def _phase_state() -> dict[str, Any]:
    return {"status": PENDING, "reason": "", "runs": 0, "tasks": {}, "contracts": {},
            "gates": [], "batches": []}


def _unsuccessful(phase: Phase, record: Mapping[str, Any]) -> str:
    bad = [(t.id, record["tasks"][t.id]) for t in phase.tasks
           if record["tasks"][t.id]["status"] != "succeeded"]
    if not bad:
        return ""
    task_id, task = bad[0]
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    return (f"task '{task_id}' {task['status']}: {task['reason']}{more}; fix it, then "
            "`swarm plan resume`")


def _relative(path: str, root: str) -> str:
    return os.path.relpath(os.path.realpath(path), os.path.realpath(root))


def _git(args: Sequence[str], cwd: str, environ: Mapping[str, str]) -> process.ProcessOutcome:
    child = process.start(["git", *args], cwd=cwd, env=environ)
    if isinstance(child, process.ProcessOutcome):
        return child
    return child.communicate(b"", timeout=30, max_output=1 << 16)


def _in_git(root: str, environ: Mapping[str, str]) -> bool:
    outcome = _git(["rev-parse", "--is-inside-work-tree"], root, environ)
    return outcome.exit_code == 0 and outcome.stdout.strip() == b"true"
