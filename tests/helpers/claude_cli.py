"""Run the real Claude Code CLI headless against the fake Messages API.

Every run gets its own HOME (the CLI keeps transcripts and state under ``~/.claude``) and its
own ``CLAUDE_CODE_TMPDIR`` (task output files and the messaging socket, otherwise shared under
``/tmp``), talks only to the fake server on loopback, and gives up on a failing API after one
retry instead of backing off for minutes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from tests.fakes.messages_api import MessagesAPI

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_CLI = REPO_ROOT / ".claude-cli" / "node_modules" / ".bin" / "claude"
DEFAULT_TIMEOUT = 20.0

Event = dict[str, Any]

_INHERITED_BUT_DROPPED = (
    "CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CONFIG_DIR", "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_MODEL", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
)
_OFFLINE_ENV = {
    "ANTHROPIC_API_KEY": "sk-test",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_MAX_RETRIES": "1",
    "NO_PROXY": "127.0.0.1,localhost",
}


def find_claude() -> Path | None:
    """``$HOOKSWARM_CLAUDE_BIN`` if set, else the CLI that ``./install.sh --dev`` installs."""
    configured = os.environ.get("HOOKSWARM_CLAUDE_BIN")
    candidate = Path(configured) if configured else BUNDLED_CLI
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def require_claude() -> Path:
    """The CLI's path, or skip the test saying how to install it."""
    found = find_claude()
    if found is None:
        pytest.skip("Claude Code CLI not found: run `./install.sh --dev` "
                    "or set HOOKSWARM_CLAUDE_BIN to a claude executable")
    return found


@dataclass(frozen=True, slots=True)
class ClaudeRun:
    """What one ``claude -p`` run printed and how it ended."""

    exit_code: int
    events: tuple[Event, ...]
    stdout: str
    stderr: str
    home: Path

    @property
    def result(self) -> Event:
        """The last ``result`` event (background agents add more); ``{}`` if none came."""
        results = self.of_type("result")
        return results[-1] if results else {}

    @property
    def result_text(self) -> str:
        return str(self.result.get("result", ""))

    def of_type(self, event_type: str, subtype: str | None = None) -> list[Event]:
        """The stream events of one ``type`` (and ``subtype``), in order."""
        return [e for e in self.events if e.get("type") == event_type
                and (subtype is None or e.get("subtype") == subtype)]

    def describe(self) -> str:
        """Everything needed to see why a run went wrong, for assertion messages."""
        return (f"claude exited {self.exit_code}\nresult: {json.dumps(self.result)}\n"
                f"stderr: {self.stderr[-2000:]}\nstdout tail: {self.stdout[-2000:]}")


def claude_env(api: MessagesAPI, home: Path,
               extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for one run: inherited, minus anything that points at a real account."""
    tmp = home / "tmp"
    tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED_BUT_DROPPED}
    env.update(_OFFLINE_ENV, HOME=str(home), CLAUDE_CODE_TMPDIR=str(tmp),
               ANTHROPIC_BASE_URL=api.base_url)
    env.update(extra or {})
    return env


def claude_command(prompt: str | None, *, extra_args: Sequence[str] = ()) -> list[str]:
    """``claude -p`` with stream-json output; ``prompt=None`` reads stream-json turns on stdin."""
    source = ["--input-format", "stream-json"] if prompt is None else [prompt]
    return [str(require_claude()), "-p", *source, "--output-format", "stream-json", "--verbose",
            *extra_args]


def user_turns(prompts: Iterable[str]) -> str:
    """Stdin for ``--input-format stream-json``: one user turn per prompt."""
    return "".join(json.dumps({"type": "user", "message": {"role": "user", "content": p}}) + "\n"
                   for p in prompts)


def run_claude(project_dir: Path, prompt: str | Sequence[str], *, api: MessagesAPI,
               extra_args: Sequence[str] = (), env: Mapping[str, str] | None = None,
               home: Path | None = None, timeout: float = DEFAULT_TIMEOUT) -> ClaudeRun:
    """Run ``claude -p`` in ``project_dir`` against ``api`` and collect its stream-json output.

    A string is one prompt on the command line; a sequence of strings is sent as that many
    user turns with ``--input-format stream-json``. ``env`` adds to (and overrides) the
    offline environment. ``home`` defaults to a new directory next to ``project_dir``. A run
    that outlives ``timeout`` seconds is killed with its process group and fails the test.
    """
    home = home or Path(tempfile.mkdtemp(prefix="home-", dir=project_dir.parent))
    if isinstance(prompt, str):
        command, stdin = claude_command(prompt, extra_args=extra_args), ""
    else:
        command, stdin = claude_command(None, extra_args=extra_args), user_turns(prompt)
    code, stdout, stderr = _communicate(command, cwd=project_dir, stdin=stdin,
                                        env=claude_env(api, home, env), timeout=timeout)
    return ClaudeRun(code, parse_events(stdout), stdout, stderr, home)


def _communicate(command: list[str], *, cwd: Path, stdin: str, env: dict[str, str],
                 timeout: float) -> tuple[int, str, str]:
    with subprocess.Popen(command, cwd=cwd, env=env, text=True, start_new_session=True,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as child:
        try:
            stdout, stderr = child.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(child.pid)
            stdout, stderr = child.communicate()
            pytest.fail(f"claude did not finish within {timeout}s\nstderr: {stderr[-2000:]}\n"
                        f"stdout tail: {stdout[-2000:]}")
        finally:
            kill_group(child.pid)
    return child.returncode, stdout, stderr


def kill_group(pid: int) -> None:
    """SIGKILL a process group: hooks and Bash commands must not outlive the test."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def parse_events(stdout: str) -> tuple[Event, ...]:
    """The JSON objects of a stream-json output; other lines are skipped."""
    events: list[Event] = []
    for line in stdout.splitlines():
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if isinstance(event, dict):
                events.append(event)
    return tuple(events)


def write_settings(project_dir: Path, settings: Mapping[str, Any], *,
                   name: str = "settings.json") -> Path:
    """Write ``<project>/.claude/<name>`` and return its path."""
    path = project_dir / ".claude" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2))
    return path


def command_hook(event: str, command: str, *, matcher: str | None = None,
                 timeout: int | None = None) -> dict[str, Any]:
    """Settings holding one command hook: ``{"hooks": {event: [{matcher, hooks: [...]}]}}``."""
    handler: dict[str, Any] = {"type": "command", "command": command}
    if timeout is not None:
        handler["timeout"] = timeout
    group: dict[str, Any] = {"hooks": [handler]}
    if matcher is not None:
        group["matcher"] = matcher
    return {"hooks": {event: [group]}}
