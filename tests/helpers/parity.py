"""Run the same hooks natively and through ``hookrun run`` with the real CLI, and compare.

Each run goes against the scripted model; an ``Observation`` is what the model received,
whether the tool ran and how the run ended.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.messages_api import (
    MessagesAPI,
    Reply,
    Script,
    reply,
    system_texts,
    tool_results,
    tool_use,
)
from tests.helpers.claude_cli import run_claude, write_settings
from tests.helpers.install import HOOKRUN
from tests.helpers.processes import ENDED_SOURCE

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

PROMPT = "please run the tool"
TOUCH = tool_use("Bash", {"command": "touch ran.txt", "description": "touch"})
MARKERS = ("ran.txt", "rewritten.txt", "first.txt", "formatted.txt")
PIDS = "hook-pids"  # each hook writes its pid here, for ``after_exit``


@dataclass(frozen=True)
class Hook:
    name: str
    event: str
    source: str
    matcher: str = ""
    timeout: int = 10
    after: tuple[str, ...] = ()
    on_error: str = "allow"


@dataclass(frozen=True)
class Observation:
    files: frozenset[str]
    requests: int
    tool_errors: tuple[bool, ...]
    seen: frozenset[str]
    is_error: bool
    terminal_reason: str
    model_input: str = field(compare=False)
    result_text: str = field(compare=False)


@dataclass(frozen=True)
class Case:
    id: str
    hooks: Sequence[Hook]
    check: Callable[[Observation], bool]
    replies: Sequence[Reply] = (reply(TOUCH), reply("finished"))
    tools: str = "Bash"
    markers: Sequence[str] = ()


def py(source: str) -> str:
    return textwrap.dedent(source).strip() + "\n"


def after_exit(other: str, *lines: str) -> str:
    """A hook that reads its payload, waits until hook ``other`` has exited, then runs ``lines``.

    So it is still at work when ``other`` answers, on any machine: the order is made, not timed.
    """
    return py("\n".join([
        "import json, os, sys, time", "payload = json.load(sys.stdin)", ENDED_SOURCE,
        f"while not ended({f'{PIDS}/{other}'!r}):", "    time.sleep(0.01)", *lines]))


def _records_pid(name: str) -> str:
    return (f"import os; os.makedirs({PIDS!r}, exist_ok=True); "
            f"open({f'{PIDS}/{name}'!r}, 'w').write(str(os.getpid()))\n")


def prints(text: str) -> str:
    return py(f"import sys; sys.stdin.read(); print({text!r})")


def answers(obj: dict[str, Any]) -> str:
    return py(f"import json, sys; sys.stdin.read(); print(json.dumps({obj!r}))")


def decision(value: str, reason: str) -> str:
    return answers({"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                           "permissionDecision": value,
                                           "permissionDecisionReason": reason}})


def exits_after(source: str, code: int) -> str:
    """The hook ``source``, then ``sys.exit(code)``."""
    return source + f"import sys; sys.exit({code})\n"


def context(event: str, text: str) -> str:
    return answers({"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}})


# How hookrun is reached: `hookrun run` command entries; `install --serve` http entries with
# fresh script processes; the same with warm (zygote-forked) Python script hooks.
MODES = ("run", "serve-cold", "serve")


def write_project(root: Path, hooks: Sequence[Hook], *, through_hookrun: bool,
                  mode: str = "run") -> None:
    (root / "hooks").mkdir(parents=True)
    (root / ".claude").mkdir()
    for hook in hooks:
        (root / "hooks" / f"{hook.name}.py").write_text(_records_pid(hook.name) + hook.source)
    if not through_hookrun:
        write_settings(root, {"hooks": native_hooks(hooks)})
    elif mode.startswith("serve"):
        write_config(root, hooks, warm=mode == "serve")
        hookrun_in(root, "install", "--serve")
    else:
        write_hookrun(root, hooks)


def hookrun_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(root)}
    return subprocess.run([HOOKRUN, *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=30, check=args[0] != "serve")


def command(hook: Hook) -> str:
    return f"{sys.executable} hooks/{hook.name}.py"


def native_hooks(hooks: Sequence[Hook]) -> dict[str, list[dict[str, Any]]]:
    config: dict[str, list[dict[str, Any]]] = {}
    for hook in hooks:
        handler: dict[str, Any] = {"type": "command", "command": command(hook),
                                   "timeout": hook.timeout}
        if hook.on_error == "block":
            handler["onFailure"] = "block"
        group: dict[str, Any] = {"hooks": [handler]}
        if hook.matcher:
            group["matcher"] = hook.matcher
        config.setdefault(hook.event, []).append(group)
    return config


def write_hookrun(root: Path, hooks: Sequence[Hook]) -> None:
    write_config(root, hooks)
    events = {hook.event for hook in hooks}
    write_settings(root, {"hooks": {event: [{"hooks": [
        {"type": "command", "command": f"{HOOKRUN} run", "timeout": 60}]}] for event in events}})


def write_config(root: Path, hooks: Sequence[Hook], *, warm: bool = True) -> None:
    lines = []
    for hook in hooks:
        lines += ["[[hooks]]", f"name = {json.dumps(hook.name)}",
                  f"event = {json.dumps(hook.event)}", f"command = {json.dumps(command(hook))}",
                  f"timeout = {hook.timeout}", f"matcher = {json.dumps(hook.matcher)}",
                  f"after = {json.dumps(list(hook.after))}",
                  f"on_error = {json.dumps(hook.on_error)}", f"warm = {json.dumps(warm)}", ""]
    (root / ".claude" / "hookrun.toml").write_text("\n".join(lines))


def observe(root: Path, case: Case) -> Observation:
    with MessagesAPI(Script({PROMPT: list(case.replies)})) as api:
        try:
            run = run_claude(root, PROMPT, api=api, extra_args=["--allowedTools", case.tools])
        finally:
            if (root / ".claude" / "settings.local.json").exists():
                hookrun_in(root, "serve", "--stop")  # the server outlives the session
        conversation = [r.body for r in api.conversation(PROMPT)]
    return observation(root, case, conversation, run.result)


def observation(root: Path, case: Case, conversation: Sequence[Mapping[str, Any]],
                result: Mapping[str, Any]) -> Observation:
    """What the model received in every request of ``conversation`` (context that reached only
    an earlier request reached the model too), and how the run ended."""
    model_input = "\n".join(map(_model_input, conversation))
    results = tool_results(conversation[-1]) if conversation else []
    return Observation(
        files=frozenset(name for name in MARKERS if (root / name).exists()),
        requests=len(conversation),
        tool_errors=tuple(r.is_error for r in results),
        seen=frozenset(m for m in case.markers if m in model_input),
        is_error=bool(result.get("is_error")),
        terminal_reason=str(result.get("terminal_reason", "")),
        model_input=model_input,
        result_text=str(result.get("result", "")),
    )


def _model_input(body: Mapping[str, Any]) -> str:
    return "\n".join([*system_texts(body), *(r.content for r in tool_results(body)),
                      json.dumps(body.get("messages", []))])


def served_state(root: Path) -> str:
    """``hookrun serve``'s log, state and last run records in ``root``, for a failure message."""
    hooks = root / ".swarm" / "hooks"
    parts = [f"{name}:\n{(hooks / name).read_text()[-3000:]}"
             for name in ("serve.log", "serve.json", "runs.jsonl") if (hooks / name).exists()]
    return "\n".join(parts)


def both(tmp_path: Path, case: Case, mode: str = "run") -> tuple[Observation, Observation]:
    native, hookrun = tmp_path / "native", tmp_path / "hookrun"
    write_project(native, case.hooks, through_hookrun=False)
    write_project(hookrun, case.hooks, through_hookrun=True, mode=mode)
    return observe(native, case), observe(hookrun, case)
