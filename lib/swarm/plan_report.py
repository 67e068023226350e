"""A plan's report, from its state file and what the disk holds now: Markdown or JSON.

Files written are the expected files the evidence found written during the task; their size
and line count are read again from the disk when the report is made, and the lines added and
removed come from ``git diff --numstat`` against the file as it was before the task (absent
when the folder is not a git repository). Time saved is measured, never estimated: the task
runs' wall time against the sum of the tasks' own durations (a model task's answer time).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hookswarm.lib.swarm.plan_run import time_saved

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


def plan_report(state: Mapping[str, Any]) -> dict[str, Any]:
    root = Path(state["root"])
    phases = [_phase(name, phase, root) for name, phase in state["phases"].items()]
    files = [f for p in phases for t in p["tasks"] for f in t["files"]]
    batches = [b for phase in state["phases"].values() for b in phase["batches"]]
    return {"plan": state["plan"], "status": state["status"], "source": state["source"],
            "phases_passed": sum(p["status"] == "passed" for p in phases),
            "phases": phases, "files_written": len(files),
            "lines_added": _total(files, "added"), "lines_removed": _total(files, "removed"),
            "time": time_saved(batches)}


def _phase(name: str, phase: Mapping[str, Any], root: Path) -> dict[str, Any]:
    return {"name": name, "status": phase["status"], "reason": phase["reason"],
            "runs": phase["runs"], "contracts": dict(phase["contracts"]),
            "gates": list(phase["gates"]), "time": time_saved(phase["batches"]),
            "tasks": [_task(t, root) for t in phase["tasks"].values()]}


def _task(task: Mapping[str, Any], root: Path) -> dict[str, Any]:
    files = [_file(root / path, path, (task.get("lines") or {}).get(path))
             for path in task["files_written"]]
    return {"id": task["id"], "status": task["status"], "reason": task["reason"],
            "runs": task["runs"], "duration_s": task["duration_s"], "log": task["log"],
            "files": files}


def _file(path: Path, name: str, lines: Sequence[int] | None) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError:
        data = None
    return {"path": name, "exists": data is not None, "bytes": len(data or b""),
            "lines": data.count(b"\n") + (not data.endswith(b"\n")) if data else 0,
            "added": lines[0] if lines else None, "removed": lines[1] if lines else None}


def _total(files: Sequence[Mapping[str, Any]], key: str) -> int | None:
    counts = [f[key] for f in files if f[key] is not None]
    return sum(counts) if counts or not files else None


def markdown(report: Mapping[str, Any]) -> str:
    lines = [f"# Plan {report['plan']}: {report['status']} ({report['phases_passed']} of "
             f"{len(report['phases'])} phases passed)", ""]
    for phase in report["phases"]:
        lines += _phase_markdown(phase)
    t = report["time"]
    saved = "-" if t["saved_pct"] is None else f"{t['saved_pct']:g} %"
    lines += ["## Totals", "",
              f"- files written (verified): {report['files_written']}; lines +"
              f"{_n(report['lines_added'])} -{_n(report['lines_removed'])}",
              f"- time (measured): tasks ran {t['wall_s']:g} s of wall time against "
              f"{t['serial_s']:g} s of task time one after another: {t['saved_s']:g} s saved "
              f"({saved})", ""]
    return "\n".join(lines)


def _phase_markdown(phase: Mapping[str, Any]) -> list[str]:
    lines = [f"## Phase {phase['name']}: {phase['status']}", ""]
    if phase["reason"]:
        lines += [f"Stopped: {phase['reason']}", ""]
    lines += ["| task | status | files written | lines + / - | time s | runs |",
              "|---|---|---|---|---|---|"]
    for task in phase["tasks"]:
        files = ", ".join(f["path"] + ("" if f["exists"] else " (gone)") for f in task["files"])
        added = _total(task["files"], "added")
        removed = _total(task["files"], "removed")
        lines.append(f"| {task['id']} | {task['status']} | {files or '-'} | +{_n(added)} / "
                     f"-{_n(removed)} | {task['duration_s']:.2f} | {task['runs']} |")
    for gate in phase["gates"]:
        lines.append(f"\nGate `{gate['command']}`: {'passed' if gate['passed'] else 'FAILED'} "
                     f"({gate['why']}, {gate['seconds']:g} s)")
    for path, digest in phase["contracts"].items():
        lines.append(f"\nContract {path}: sha256 {digest[:12]}")
    return [*lines, ""]


def _n(value: int | None) -> str:
    return "?" if value is None else str(value)
