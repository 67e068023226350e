"""How long the evidence guard takes to decide a sub-agent's stop, next to a 50 MB transcript.

Run: ``.venv/bin/python bench/bench_evidence_guard.py`` (``--iterations N``, ``--no-processes``).

Every case is one in-process ``check(payload)`` as hookrun makes it (read the session state,
look at the disk, decide, write the state back), side by side in one run with two baselines:
reading the 50 MB sub-agent transcript and doing nothing else, and the agent guard's own
PreToolUse decision (with a state of its own only, and with the full evidence part beside it).
The session state holds the most open claims the guard keeps (64 spawns that declared 3 files
each), and it is restored before every stop sample, since a stop changes it. Cases:

- a stop blocked (its file is missing), the claim found through ``agent-<id>.meta.json``;
- the same, found through the transcript's first user message (no meta.json);
- a stop verified (every file written since the spawn);
- the spawn itself (PreToolUse: parse the declaration, snapshot 3 files);
- UserPromptSubmit with no note waiting (the common case on every prompt).

Then, for context, the blocked stop as a process: ``python -m hookswarm.hooks.evidence_guard``.
The target is 30 ms median in-process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench_agent_guard import arguments, report, time_calls

from hookswarm.hooks import agent_guard, evidence_guard
from hookswarm.hooks.evidence_rule import MAX_CLAIMS

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

SESSION = "bench-session"
TRANSCRIPT_BYTES = 50 * 1024 * 1024
OPEN_CLAIMS = MAX_CLAIMS
PROMPT = "[expects: src/calc.py, tests/test_calc.py, README.md] write the calculator"


def payload(project: Path, event: str, **fields: Any) -> dict[str, Any]:
    return {"session_id": SESSION, "cwd": str(project), "prompt_id": "p1",
            "transcript_path": str(project / "main.jsonl"), "permission_mode": "default",
            "hook_event_name": event, **fields}


def spawn(project: Path, index: int) -> dict[str, Any]:
    return payload(project, "PreToolUse", tool_name="Agent", tool_use_id=f"toolu_{index}",
                   tool_input={"description": f"calc {index}", "prompt": f"{PROMPT} #{index}"})


def stop(project: Path, agent_id: str) -> dict[str, Any]:
    transcript = project / "subagents" / f"agent-{agent_id}.jsonl"
    return payload(project, "SubagentStop", agent_id=agent_id, stop_hook_active=False,
                   agent_transcript_path=str(transcript), last_assistant_message="done")


def write_agent(project: Path, agent_id: str, index: int, *, meta: bool) -> None:
    """A sub-agent's files: meta.json naming its spawn, and a 50 MB transcript."""
    base = project / "subagents" / f"agent-{agent_id}"
    base.parent.mkdir(parents=True, exist_ok=True)
    if meta:
        base.with_suffix(".meta.json").write_text(json.dumps({"toolUseId": f"toolu_{index}"}))
    first = json.dumps({"type": "user", "isSidechain": True, "message": {
        "role": "user", "content": f"{PROMPT} #{index}"}}) + "\n"
    line = json.dumps({"type": "assistant", "message": {"id": "msg_x", "content": [
        {"type": "text", "text": "x" * 900}]}}) + "\n"
    with base.with_suffix(".jsonl").open("w") as handle:
        handle.write(first)
        handle.writelines(line for _ in range(TRANSCRIPT_BYTES // len(line) + 1))


def new_project(root: Path, name: str, *, meta: bool = True, written: bool = False) -> Path:
    """A project whose state holds ``OPEN_CLAIMS`` declared spawns; agent 'last' is the last."""
    project = root / name
    (project / ".claude").mkdir(parents=True)
    for index in range(OPEN_CLAIMS):
        evidence_guard.check(spawn(project, index))
    write_agent(project, "last", OPEN_CLAIMS - 1, meta=meta)
    if written:
        for path in ("src/calc.py", "tests/test_calc.py", "README.md"):
            (project / path).parent.mkdir(parents=True, exist_ok=True)
            (project / path).write_text("def add(a, b):\n    return a + b\n")
    return project


def state_path(project: Path) -> Path:
    return project / ".swarm" / "guard" / f"{SESSION}.json"


def stop_case(project: Path, expect_block: bool) -> tuple[Callable[[], object],
                                                          Callable[[], object]]:
    """The timed stop, and the untimed reset that puts the state back before each sample."""
    saved = state_path(project).read_bytes()
    stopping = stop(project, "last")

    def decide() -> object:
        answer = evidence_guard.check(stopping)
        assert (answer is not None) is expect_block, answer
        return answer

    return decide, lambda: state_path(project).write_bytes(saved)


def read_transcript(project: Path) -> Callable[[], object]:
    path = project / "subagents" / "agent-last.jsonl"
    return lambda: path.read_bytes()


def run_cases(root: Path, args: argparse.Namespace) -> None:
    blocked = new_project(root, "blocked")
    by_prompt = new_project(root, "by-prompt", meta=False)
    verified = new_project(root, "verified", written=True)
    plain = root / "plain"
    (plain / ".claude").mkdir(parents=True)
    n = args.iterations
    rows = [("baseline: read the 50 MB transcript",
             time_calls(read_transcript(blocked), max(n // 10, 10))),
            ("baseline: agent guard decides, no evidence",
             time_calls(lambda: agent_guard.check(spawn(plain, 0)), n)),
            ("agent guard decides, 64 open claims beside",
             time_calls(lambda: agent_guard.check(spawn(blocked, 0)), n))]
    for name, project, expect_block in (
            ("stop blocked, found by meta.json", blocked, True),
            ("stop blocked, found by transcript prompt", by_prompt, True),
            ("stop verified (3/3 files)", verified, False)):
        decide, reset = stop_case(project, expect_block)
        rows.append((name, time_calls(decide, n, before=reset)))
    rows.append(("spawn declaring 3 files",
                 time_calls(lambda: evidence_guard.check(spawn(blocked, 7)), n)))
    rows.append(("UserPromptSubmit, no note waiting",
                 time_calls(lambda: evidence_guard.check(payload(blocked, "UserPromptSubmit")),
                            n)))
    if not args.no_processes:
        rows.append(process_row(blocked, args.process_iterations))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {n} in-process samples per "
          f"case; {OPEN_CLAIMS} open claims, state file "
          f"{state_path(blocked).stat().st_size} bytes; transcript "
          f"{(blocked / 'subagents' / 'agent-last.jsonl').stat().st_size / 2**20:.0f} MiB")
    report(rows)


def process_row(project: Path, iterations: int) -> tuple[str, list[float]]:
    reset = stop_case(project, True)[1]
    stdin = json.dumps(stop(project, "last"))
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project)}
    command = [sys.executable, "-m", "hookswarm.hooks.evidence_guard"]

    def run() -> object:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, env=env,
                              cwd=project, check=True)
        assert '"block"' in done.stdout, done
        return done

    return ("process: -m ...evidence_guard, blocked stop", time_calls(run, iterations,
                                                                              before=reset))


def main() -> None:
    args = arguments(__doc__)
    for name in ("CLAUDE_PROJECT_DIR", evidence_guard.ENV_MODE, evidence_guard.ENV_BLOCKS,
                 agent_guard.ENV_MODE):
        os.environ.pop(name, None)
    root = Path(tempfile.mkdtemp(prefix="bench-evidence-guard-"))
    try:
        run_cases(root, args)
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
