"""A phased plan: phases of tasks, each phase's contracts and gates; loading and its checks.

```toml
name = "calc"                # default: the file's name without .toml
gate_timeout = 600           # seconds per gate command
[defaults]                   # task keys under every task, as in a task file
backend = "claude"
[[phases]]
name = "contract"
contracts = ["api.md"]       # files this phase produces and later phases only read
gates = ["python -m pytest -q"]
[[phases.tasks]]
id = "api"                   # default: PHASE-N
prompt = "..."
owns = ["api.md"]
expects = ["api.md"]
```

Loading refuses a plan whose tasks of one phase own overlapping paths (naming both tasks)
and a contract that no task of its phase may write; nothing starts then.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hookswarm.lib.swarm.batch import read_spec
from hookswarm.lib.swarm.errors import SwarmError, TaskFileError
from hookswarm.lib.swarm.ownership import absolute_globs, overlapping, owned
from hookswarm.lib.swarm.task import ID_PATTERN, Task, build_tasks


class PlanError(SwarmError):
    """A plan that cannot run; the message names the file, the phase and the tasks."""


class _PhaseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=ID_PATTERN)
    contracts: tuple[str, ...] = ()
    gates: tuple[str, ...] = ()
    tasks: tuple[dict[str, Any], ...] = Field(min_length=1)


class _PlanSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", pattern=r"^$|" + ID_PATTERN)
    gate_timeout: float = Field(default=600.0, gt=0)
    defaults: dict[str, Any] = Field(default_factory=dict)
    phases: tuple[_PhaseSpec, ...] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    tasks: tuple[Task, ...]
    contracts: tuple[str, ...]
    gates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    root: str
    phases: tuple[Phase, ...]
    gate_timeout: float
    source: str


def load_plan(path: str | Path, *, base: str) -> Plan:
    """Read PLAN.toml; :class:`PlanError` or :class:`TaskFileError` names what is wrong."""
    path = Path(path)
    source = str(path)
    spec = read_spec(path, _PlanSpec, what="plan", error=PlanError)
    phases = tuple(_phase(i, p, spec.defaults, base, source) for i, p in enumerate(spec.phases))
    plan = Plan(spec.name or path.stem, base, phases, spec.gate_timeout, source)
    problem = plan_problem(plan)
    if problem:
        raise PlanError(f"{source}: {problem}")
    return plan


def _phase(index: int, spec: _PhaseSpec, defaults: dict[str, Any], base: str,
           source: str) -> Phase:
    entries = [{"id": f"{spec.name}-{n + 1}", **entry} for n, entry in enumerate(spec.tasks)]
    try:
        tasks = build_tasks(entries, defaults=defaults, base=base, source=source)
    except TaskFileError as exc:
        raise PlanError(f"phase '{spec.name}' (#{index + 1}): {exc}") from None
    return Phase(spec.name, tuple(tasks), tuple(posixpath.normpath(c) for c in spec.contracts),
                 spec.gates)


def plan_problem(plan: Plan) -> str:
    """Why the plan cannot run (empty when it can): names, ownership, contracts."""
    names = [p.name for p in plan.phases]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        return f"two phases are named '{dup}'; give each phase its own name"
    ids = [t.id for p in plan.phases for t in p.tasks]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup:
        return f"two tasks have the id '{dup}'; task ids must be unique across the plan"
    for phase in plan.phases:
        problem = ownership_clash(phase) or contract_problem(phase, plan.root)
        if problem:
            return f"phase '{phase.name}': {problem}"
    return ""


def ownership_clash(phase: Phase) -> str:
    """The first pair of tasks in ``phase`` whose owned paths overlap, in words."""
    globs = [(t, absolute_globs(t.cwd, t.write_globs)) for t in phase.tasks]
    for i, (a, mine) in enumerate(globs):
        for b, theirs in globs[i + 1:]:
            if overlapping(mine, theirs):
                return (f"tasks '{a.id}' ({', '.join(a.write_globs)}) and '{b.id}' "
                        f"({', '.join(b.write_globs)}) own overlapping paths; tasks of one "
                        "phase run at once, so give each its own files or move one to another "
                        "phase")
    return ""


def contract_problem(phase: Phase, root: str) -> str:
    for contract in phase.contracts:
        if contract.startswith(("/", "..")) or re.search(r"[*?\[]", contract):
            return (f"contract '{contract}' must be a file path inside the plan's folder "
                    "(relative, no globs)")
        if not writers(phase.tasks, contract, root):
            return (f"no task of the phase may write its contract '{contract}'; add it to "
                    "one task's owns (or expects)")
    return ""


def writers(tasks: Sequence[Task], path: str, root: str) -> list[str]:
    """The ids of the tasks whose owns cover ``path`` (relative to the plan's folder)."""
    target = posixpath.join(os.path.realpath(root), path)
    return [t.id for t in tasks if owned(target, absolute_globs(t.cwd, t.write_globs))]
