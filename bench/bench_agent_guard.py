"""How long the agent guard takes to decide, with a big session state and a big transcript.

Run: ``.venv/bin/python bench/bench_agent_guard.py`` (``--iterations N``, ``--no-processes``).

Each case times one PreToolUse(Agent) decision as hookrun makes it: the in-process ``call``
``check(payload)``, which reads the session state under its lock, decides and writes it back.
The decision measured is a denial (the costlier path: it builds the guidance text). Cases, side
by side in one run:

- baseline: a state holding just the one message the denial needs;
- 10,000 spawns: the state left after the guard itself recorded 10,000 spawns (main thread and
  500 sub-agents, one PreToolUse and one PostToolBatch each);
- + 50 MB transcript: the same, with a 50 MB transcript at the payload's ``transcript_path``;
- unbounded (for contrast): a state file with 10,000 threads, as it would grow without the
  guard's bounds (rewritten before every sample, since the guard prunes it on write).

Then, for context, the same decision as separate processes: ``python -m
hookswarm.hooks.agent_guard`` (a plain command hook) and ``hookrun run`` with the guard as a
``call``, both including interpreter start-up. The target is 30 ms median in-process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hookswarm.hooks import agent_guard
from hookswarm.hooks import agent_guard_rule as rule
from hookswarm.hooks import agent_guard_state as state

if TYPE_CHECKING:
    from collections.abc import Callable

TARGET_MS = 30.0
SESSION = "bench-session"
ASYNC = [{"type": "text", "text": "Async agent launched successfully.\nThe agent is working "
          "in the background. You will be notified automatically when it completes."}]


def payload(project: Path, event: str, agent_id: str = "", **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"session_id": SESSION, "cwd": str(project), "prompt_id": "p1",
                            "transcript_path": str(project / "transcript.jsonl"),
                            "permission_mode": "default", "hook_event_name": event, **fields}
    if agent_id:
        data["agent_id"] = agent_id
    return data


def spawn(project: Path, name: str, agent_id: str = "") -> dict[str, Any]:
    return payload(project, "PreToolUse", agent_id, tool_name="Agent", tool_use_id=f"t-{name}",
                   tool_input={"description": f"research {name}", "prompt": f"look at {name}"})


def batch(project: Path, name: str, agent_id: str = "") -> dict[str, Any]:
    call = {"tool_name": "Agent", "tool_use_id": f"t-{name}", "tool_response": ASYNC,
            "tool_input": {"description": f"research {name}", "prompt": f"look at {name}"}}
    return payload(project, "PostToolBatch", agent_id, tool_calls=[call])


def new_project(root: Path, name: str) -> Path:
    project = root / name
    (project / ".claude").mkdir(parents=True)
    return project


def record_spawns(project: Path, count: int) -> None:
    """Let the guard record ``count`` spawns, ending on one background spawn in the main thread."""
    for index in range(count - 1):
        agent_id = "" if index % 2 else f"a{index % 500:04d}"
        agent_guard.check(spawn(project, str(index), agent_id))
        agent_guard.check(batch(project, str(index), agent_id))
        if not agent_id:
            agent_guard.check(payload(project, "UserPromptSubmit", prompt="next"))
    agent_guard.check(spawn(project, "last"))
    agent_guard.check(batch(project, "last"))


def write_transcript(path: Path, size: int) -> None:
    line = json.dumps({"type": "assistant", "message": {"id": "msg_x", "content": [
        {"type": "text", "text": "x" * 900}]}}) + "\n"
    with path.open("w") as handle:
        for _ in range(size // len(line) + 1):
            handle.write(line)


def unbounded_state(threads: int) -> str:
    table = {f"a{i:05d}": rule.Thread(touched=i) for i in range(threads)}
    last = rule.Message(1, 0, 1, ("research last",))
    table[rule.MAIN] = rule.Thread(epoch=1, prompt_id="p1", last=last, touched=threads)
    return json.dumps(state.to_json(rule.Session(threads, table)))


def time_calls(call: Callable[[], object], iterations: int,
               before: Callable[[], object] | None = None) -> list[float]:
    samples = []
    for _ in range(iterations):
        if before is not None:
            before()
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def decision(project: Path) -> Callable[[], object]:
    denied = spawn(project, "next")

    def decide() -> object:
        answer = agent_guard.check(denied)
        assert answer is not None, answer
        assert "deny" in json.dumps(answer), answer
        return answer
    return decide


def process_decision(project: Path, command: list[str]) -> Callable[[], object]:
    stdin = json.dumps(spawn(project, "next"))
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project)}

    def run() -> object:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, env=env,
                              cwd=project, check=True)
        assert "deny" in done.stdout, done
        return done
    return run


def report(rows: list[tuple[str, list[float]]]) -> None:
    base = statistics.median(rows[0][1])
    print(f"{'case':<44}{'median ms':>10}{'p90 ms':>9}{'vs 30 ms':>10}{'vs baseline':>13}")
    for name, samples in rows:
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"{name:<44}{median:>10.3f}{p90:>9.3f}{median / TARGET_MS:>9.3f}x"
              f"{median / base:>12.2f}x")


def arguments(doc: str) -> argparse.Namespace:
    """The command line both guard benchmarks take."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--process-iterations", type=int, default=30)
    parser.add_argument("--no-processes", action="store_true")
    return parser.parse_args()


def main() -> None:
    args = arguments(__doc__)
    os.environ.pop("CLAUDE_PROJECT_DIR", None)
    os.environ.pop(agent_guard.ENV_MODE, None)
    root = Path(tempfile.mkdtemp(prefix="bench-agent-guard-"))
    try:
        run_cases(root, args)
    finally:
        shutil.rmtree(root)


def run_cases(root: Path, args: argparse.Namespace) -> None:
    baseline = new_project(root, "baseline")
    record_spawns(baseline, 1)
    big = new_project(root, "spawns")
    started = time.perf_counter()
    record_spawns(big, 10_000)
    recorded_in = time.perf_counter() - started
    transcript = new_project(root, "transcript")
    shutil.copytree(big / ".swarm", transcript / ".swarm")
    write_transcript(transcript / "transcript.jsonl", 50 * 1024 * 1024)
    unbounded = new_project(root, "unbounded")
    record_spawns(unbounded, 1)
    state_file = unbounded / ".swarm" / "guard" / f"{SESSION}.json"
    raw = unbounded_state(10_000)

    def restore() -> None:
        state_file.write_text(raw)

    cases = [("baseline: state with one message", baseline),
             ("10,000 recorded spawns", big),
             ("10,000 spawns + 50 MB transcript", transcript)]
    rows = []
    for name, project in cases:
        time_calls(decision(project), 20)
        rows.append((f"in-process: {name}", time_calls(decision(project), args.iterations)))
    rows.append(("in-process: unbounded 10,000-thread file",
                 time_calls(decision(unbounded), min(args.iterations, 100), before=restore)))
    if not args.no_processes:
        rows += process_rows(transcript, args.process_iterations)
    sizes = {name: (p / ".swarm" / "guard" / f"{SESSION}.json").stat().st_size
             for name, p in cases}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {args.iterations} "
          f"in-process samples per case; 10,000 spawns recorded in {recorded_in:.1f} s")
    print(f"state file bytes: {sizes}; unbounded file: {len(raw)} bytes; transcript: "
          f"{(transcript / 'transcript.jsonl').stat().st_size / 2**20:.0f} MiB")
    report(rows)


def process_rows(project: Path, iterations: int) -> list[tuple[str, list[float]]]:
    rows = []
    module = [sys.executable, "-m", "hookswarm.hooks.agent_guard"]
    rows.append(("process: python -m ...agent_guard (50 MB)",
                 time_calls(process_decision(project, module), iterations)))
    hookrun = Path(sys.executable).with_name("hookrun")
    if hookrun.exists():
        (project / ".claude" / "hookrun.toml").write_text(
            '[[hooks]]\nname = "agent-guard"\nevent = "PreToolUse"\nmatcher = "Agent|Task"\n'
            'call = "hookswarm.hooks.agent_guard:check"\n')
        rows.append(("process: hookrun run, guard as call (50 MB)",
                     time_calls(process_decision(project, [str(hookrun), "run"]), iterations)))
    return rows


if __name__ == "__main__":
    main()
