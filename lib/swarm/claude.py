"""The ``claude`` backend: real ``claude -p`` workers, judged by their last ``result`` event.

The worker gets a known ``--session-id`` (so its transcript path is known), the prompt on
stdin, a bounded ``CLAUDE_CODE_MAX_RETRIES``, the parent session's markers removed from its
environment, and a ``--settings`` layer whose PreToolUse hook denies writes outside ``owns``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import anyio

from hookswarm.lib.swarm.backend import (
    Health,
    Launch,
    ProcessWorker,
    WorkerEnd,
    exit_reason,
    start_process,
)
from hookswarm.lib.swarm.health import command_runs, http_reachable
from hookswarm.lib.swarm.ownership import WRITE_TOOLS, absolute_globs

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hookswarm.lib.swarm.config import ClaudeSettings, SwarmConfig
    from hookswarm.lib.swarm.task import Task

DEFAULT_BASE_URL = "https://api.anthropic.com"
# What a parent Claude Code session puts in its children's environment; a worker started
# from inside a session must not look like that session's hook or tool.
PARENT_SESSION_ENV = ("CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_SESSION_ID",
                      "CLAUDE_PID", "CLAUDE_CODE_CHILD_SESSION", "CLAUDE_CODE_SESSION_ATTENDED",
                      "CLAUDE_CODE_MESSAGING_SOCKET", "CLAUDE_CODE_MESSAGING_TOKEN",
                      "CLAUDE_CODE_CHILD_NOTES_DIR", "CLAUDE_ENV_FILE", "CLAUDE_PROJECT_DIR",
                      "CLAUDE_EFFORT")
_RESULT_TEXT = 2000
_UNREACHABLE = ("connection_failed", "connection_refused")
_API_HINT = "check ANTHROPIC_BASE_URL (in the environment or the task's env) and that the API is up"


def worker_env(base: Mapping[str, str], task: Task, settings: ClaudeSettings) -> dict[str, str]:
    """The child environment: ``base`` less the parent-session markers, plus the task's env."""
    env = {k: v for k, v in base.items() if k not in PARENT_SESSION_ENV}
    env["CLAUDE_CODE_MAX_RETRIES"] = str(settings.max_retries)
    env.update(task.env)
    return env


def guard_settings(task: Task) -> dict[str, Any]:
    """A settings layer whose PreToolUse hook denies file writes outside the task's ``owns``."""
    command = [sys.executable, "-m", "hookswarm.hooks.ownership_guard", "--cwd", task.cwd]
    for glob in absolute_globs(task.cwd, task.write_globs):
        command += ["--own", glob]
    handler = {"type": "command", "command": shlex.join(command), "timeout": 30,
               "onFailure": "block"}
    return {"hooks": {"PreToolUse": [{"matcher": "|".join(WRITE_TOOLS), "hooks": [handler]}]}}


def claude_argv(binary: str, task: Task, settings: ClaudeSettings, session_id: str) -> list[str]:
    """``claude -p`` with stream-json output; the prompt goes to stdin."""
    tools = task.allowed_tools if task.allowed_tools is not None else settings.allowed_tools
    argv = [binary, "-p", "--output-format", "stream-json", "--verbose",
            "--model", model_for(task, settings), "--session-id", session_id,
            "--settings", json.dumps(guard_settings(task), separators=(",", ":"))]
    if tools:
        argv += ["--allowedTools", ",".join(tools)]
    if task.max_turns is not None:
        argv += ["--max-turns", str(task.max_turns)]
    return [*argv, *settings.extra_args]


def model_for(task: Task, settings: ClaudeSettings) -> str:
    """The model a worker runs with: the task's, else ``[claude] model``."""
    return task.model or settings.model


def transcript_path(env: Mapping[str, str], cwd: str, session_id: str) -> str:
    """Where the CLI writes this session's transcript."""
    config = env.get("CLAUDE_CONFIG_DIR") or os.path.join(env.get("HOME", "~"), ".claude")
    return os.path.join(config, "projects", re.sub(r"[^A-Za-z0-9]", "-", cwd),
                        f"{session_id}.jsonl")


def judge_result(result: Mapping[str, Any] | None, exit_code: int) -> WorkerEnd:
    """Judge by the last ``result`` event: ``is_error``, ``terminal_reason``, ``api_error_status``.

    ``subtype`` is never consulted: API failures report ``subtype: success``.
    """
    if result is None:
        return WorkerEnd(False, f"claude printed no result event ({exit_reason(exit_code)})",
                         exit_code)
    details = _details(result)
    problem = _problem(result, exit_code)
    unreachable = str(result.get("api_error", "")) in _UNREACHABLE
    return WorkerEnd(not problem, problem, exit_code, details, unreachable,
                     denials=details["permission_denials"])


def _problem(result: Mapping[str, Any], exit_code: int) -> str:
    terminal = result.get("terminal_reason")
    status = result.get("api_error_status")
    text = str(result.get("result", ""))[:200]
    if result.get("is_error"):
        return (f"claude reported an error (terminal_reason={terminal}, "
                f"api_error_status={status}): {text}")
    if status is not None:
        return f"the API answered {status}: {text}"
    if terminal not in (None, "completed"):
        return f"claude stopped early: terminal_reason={terminal}"
    if exit_code != 0:
        return f"claude {exit_reason(exit_code)} after a clean result"
    return ""


def _details(result: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("session_id", "num_turns", "terminal_reason", "api_error_status", "is_error",
            "total_cost_usd", "result_index")
    details = {k: result.get(k) for k in keys if k in result}
    details["result"] = str(result.get("result", ""))[:_RESULT_TEXT]
    details["permission_denials"] = len(result.get("permission_denials") or [])
    return details


class LineSplitter:
    """Splits a byte stream into lines, copying each byte once however the chunks fall.

    A line longer than ``limit`` bytes is dropped as it arrives (the log keeps it) and counted
    in ``skipped``, so one huge line costs neither quadratic time nor unbounded memory.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.skipped = 0
        self._pieces: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        """The lines that ``chunk`` completes."""
        lines: list[bytes] = []
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            line = self.finish(chunk[start:end])
            if line is not None:
                lines.append(line)
            start = end + 1
        self._add(chunk[start:])
        return lines

    def finish(self, tail: bytes = b"") -> bytes | None:
        """End the current line with ``tail``; None if it was too long."""
        self._add(tail)
        line = b"".join(self._pieces) if self._size <= self.limit else None
        self.skipped += line is None
        self._pieces, self._size = [], 0
        return line

    def _add(self, piece: bytes) -> None:
        if self._size > self.limit or not piece:
            return
        self._size += len(piece)
        if self._size > self.limit:
            self._pieces = []
        else:
            self._pieces.append(piece)


class _StreamJudge:
    """Splits stdout into stream-json lines; keeps the last ``result`` event and the model.

    The model is what the ``init`` event names (the CLI resolves aliases and may take
    ``--model`` from ``extra_args``); the one passed on the command line is the fallback.
    """

    def __init__(self, session_id: str, transcript: str, model: str, *, max_line: int) -> None:
        self._lines = LineSplitter(max_line)
        self._last: dict[str, Any] | None = None
        self._session_id = session_id
        self._transcript = transcript
        self._model = model

    def feed(self, stream: int, chunk: bytes) -> None:
        if stream != 1:
            return
        for line in self._lines.feed(chunk):
            self._take(line)

    def judge(self, exit_code: int) -> WorkerEnd:
        last = self._lines.finish()
        if last:
            self._take(last)
        end = judge_result(self._last, exit_code)
        details = {**end.details, "session_id": self._session_id, "transcript": self._transcript}
        return replace(end, details=details, model=self._model,
                       reason="; ".join(filter(None, (end.reason, _skipped_note(self._lines)))))

    def _take(self, line: bytes) -> None:
        if b'"result"' not in line and b'"init"' not in line:
            return
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            return
        if not isinstance(event, dict):
            return
        if event.get("type") == "result":
            self._last = event
        elif event.get("subtype") == "init" and isinstance(event.get("model"), str):
            self._model = event["model"]


def _skipped_note(lines: LineSplitter) -> str:
    if not lines.skipped:
        return ""
    return (f"{lines.skipped} stream-json line(s) longer than [claude] max_line "
            f"({lines.limit} bytes) were logged but not parsed")


class ClaudeBackend:
    """Real ``claude -p`` processes; health = the binary runs and the API endpoint answers."""

    name = "claude"

    def __init__(self, settings: ClaudeSettings, *,
                 environ: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self._environ = os.environ if environ is None else environ

    @classmethod
    def from_config(cls, config: SwarmConfig,
                    environ: Mapping[str, str] | None = None) -> ClaudeBackend:
        return cls(config.claude, environ=environ)

    def base_url(self, task: Task) -> str:
        return (task.env.get("ANTHROPIC_BASE_URL") or self._environ.get("ANTHROPIC_BASE_URL")
                or DEFAULT_BASE_URL)

    def health_key(self, task: Task) -> str:
        return f"claude@{self.base_url(task)}"

    async def probe(self, task: Task, *, timeout: float) -> Health:
        found: dict[str, Health] = {}

        async def check(name: str, probe: Any) -> None:
            found[name] = await probe

        binary = self.settings.binary()
        async with anyio.create_task_group() as group:
            group.start_soon(check, "cli", command_runs([binary, "--version"], timeout=timeout))
            group.start_soon(check, "api", http_reachable(self.base_url(task), timeout=timeout))
        if not found["api"].ok:
            found["api"] = Health(False, f"{found['api'].detail}; {_API_HINT}")
        failed = [h.detail for h in (found["cli"], found["api"]) if not h.ok]
        if failed:
            return Health(False, "; ".join(failed), missing=found["cli"].missing)
        return Health(True, f"{found['cli'].detail}; {found['api'].detail}")

    def start(self, launch: Launch) -> ProcessWorker | WorkerEnd:
        task = launch.task
        session_id = str(uuid.uuid4())
        env = worker_env(launch.env, task, self.settings)
        argv = claude_argv(self.settings.binary(), task, self.settings, session_id)
        judge = _StreamJudge(session_id, transcript_path(env, task.cwd, session_id),
                             model_for(task, self.settings), max_line=self.settings.max_line)
        return start_process(argv, Launch(task, launch.prompt, env), judge,
                             stdin=launch.prompt.encode())
