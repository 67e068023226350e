"""What one hook did, as a frozen record built only through constructors.

Both hook forms end here: a command hook's process outcome and a ``call`` hook's return value
(or exception) become the same :class:`HookResult`, read exactly as Claude Code reads a
command hook: exit 0 prints an answer, exit 2 blocks with stderr, anything else fails.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NamedTuple

from hookswarm.executor import answers
from hookswarm.lib.events import rules

if TYPE_CHECKING:
    from hookswarm.lib.hookconfig import HookSpec
    from hookswarm.lib.process import ProcessOutcome

MAX_OUTPUT = 1 << 20
EXIT_NOT_FOUND = 127

OK = "ok"
BLOCKED = "blocked"
ERROR = "error"
TIMEOUT = "timeout"
GARBLED = "garbled"
OVERSIZE = "oversize"
NOT_FOUND = "not_found"
CANCELLED = "cancelled"
SKIPPED = "skipped"
FAILURES = frozenset({ERROR, TIMEOUT, GARBLED, OVERSIZE, NOT_FOUND})

Answer = dict[str, Any] | str | None


class HookResult(NamedTuple):
    """One hook's outcome; ``start``/``end`` are seconds from the start of the run."""

    position: int
    name: str
    status: str
    exit_code: int | None = None
    output: Answer = None
    reason: str = ""
    start: float = 0.0
    end: float = 0.0
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    stderr: str = ""  # what a hook that exited 0 wrote to stderr, passed on as Claude Code shows it

    @classmethod
    def from_process(cls, hook: HookSpec, outcome: ProcessOutcome) -> HookResult:
        base = cls(position=hook.position, name=hook.name, status=OK, exit_code=outcome.exit_code,
                   stdout_bytes=len(outcome.stdout), stderr_bytes=len(outcome.stderr))
        raw_stderr = _text(outcome.stderr)
        stderr = raw_stderr.strip()
        if outcome.launch_error:
            return base._replace(status=NOT_FOUND, reason=f"could not start: "
                           f"{outcome.launch_error}")
        if outcome.cancelled:
            return base._replace(status=CANCELLED, reason="cancelled: the outcome was decided")
        if outcome.timed_out:
            return base._replace(status=TIMEOUT, reason=f"timed out after {hook.timeout:g} s")
        if outcome.oversize:
            return base._replace(status=OVERSIZE,
                           reason=f"printed more than {MAX_OUTPUT // 1024} KiB")
        # Claude Code reads a JSON answer on stdout whatever the exit code (verified on the CLI).
        answer, problem = _json_object(_text(outcome.stdout), hook.event)
        if outcome.exit_code == 2 and _missing_file(hook.event, stderr):
            return base._replace(status=ERROR, reason=f"exited 2: {_first_line(stderr)} (Claude "
                                 f"Code does not block {hook.event} on a missing file)")
        if outcome.exit_code == 2:  # Claude Code passes the stderr on byte for byte
            reason = raw_stderr if stderr else _reason(answer)
            return base._replace(status=BLOCKED, reason=f"[{hook.command}]: {reason}")
        if outcome.exit_code == EXIT_NOT_FOUND:
            return base._replace(status=NOT_FOUND, reason=f"command not found ({stderr})")
        if outcome.exit_code != 0:
            detail = f": {_first_line(stderr)}" if stderr else ""
            ignored = f"; its JSON answer was ignored: {problem}" if problem else ""
            return base._replace(status=ERROR, output=answer,
                                 reason=f"exited {outcome.exit_code}{detail}{ignored}")
        return _with_answer(base._replace(stderr=raw_stderr if stderr else ""),
                            _text(outcome.stdout), hook.event)

    @classmethod
    def from_call(cls, hook: HookSpec, value: object) -> HookResult:
        base = cls(position=hook.position, name=hook.name, status=OK, exit_code=0)
        if value is None:
            return base
        if isinstance(value, str):
            return _with_answer(base._replace(stdout_bytes=len(value)), value, hook.event)
        if isinstance(value, dict):
            try:
                size = len(json.dumps(value, allow_nan=False))
            except (TypeError, ValueError) as exc:
                return base._replace(status=GARBLED, exit_code=None,
                                     reason=f"returned a dict that is not JSON ({exc})")
            return _checked(base._replace(output=value, stdout_bytes=size), value, hook.event)
        return base._replace(status=GARBLED, exit_code=None,
                       reason=f"returned {type(value).__name__}; return None, a str or a dict")

    @classmethod
    def call_blocked(cls, hook: HookSpec, reason: str) -> HookResult:
        return cls(position=hook.position, name=hook.name, status=BLOCKED, exit_code=2,
                   reason=f"[{hook.name}]: {reason}", stderr_bytes=len(reason))

    @classmethod
    def call_failed(cls, hook: HookSpec, exc: BaseException) -> HookResult:
        return cls(position=hook.position, name=hook.name, status=ERROR, exit_code=1,
                   reason=f"raised {type(exc).__name__}: {_first_line(str(exc))}")

    @classmethod
    def exit_called(cls, hook: HookSpec, code: int) -> HookResult:
        return cls(position=hook.position, name=hook.name, status=ERROR, exit_code=code,
                   reason=f"called os._exit({code}), which would end hookrun with every "
                          "answer lost; return an answer, raise Block or call sys.exit")

    @classmethod
    def not_importable(cls, hook: HookSpec, error: str) -> HookResult:
        return cls(position=hook.position, name=hook.name, status=NOT_FOUND,
                   reason=f"cannot import {hook.call!r}: {error}")

    @classmethod
    def timed_out(cls, hook: HookSpec) -> HookResult:
        return cls(position=hook.position, name=hook.name, status=TIMEOUT,
                   reason=f"timed out after {hook.timeout:g} s")

    @classmethod
    def out_of_time(cls, hook: HookSpec, within: float) -> HookResult:
        """Not done when the whole event's time ran out (it may not even have started)."""
        return cls(position=hook.position, name=hook.name, status=TIMEOUT,
                   reason=f"not done when the event's {within:g} s ran out")

    @classmethod
    def cancelled(cls, hook: HookSpec) -> HookResult:
        return cls(position=hook.position, name=hook.name, status=CANCELLED,
                   reason="cancelled: the outcome was decided")

    @classmethod
    def skipped(cls, hook: HookSpec) -> HookResult:
        return cls(position=hook.position, name=hook.name, status=SKIPPED,
                   reason="not started: the outcome was decided")

    def timed(self, start: float, end: float) -> HookResult:
        return self._replace(start=start, end=end)

    @property
    def failed(self) -> bool:
        return self.status in FAILURES


def _with_answer(base: HookResult, stdout: str, event: str) -> HookResult:
    """Exit 0: a JSON object is an answer, anything else plain text.

    Claude Code reads anything that does not parse as a JSON object as plain text, ``[git]
    main``, a truncated ``{"hookSpecificOutput": ...``, ``NaN`` and two JSON lines too, even
    with ``onFailure: "block"`` (checked on the CLI); hookrun only says so on stderr.
    """
    stripped = stdout.strip()
    if not stripped:
        return base
    if not stripped.startswith("{"):
        return base._replace(output=stdout)
    try:
        parsed = answers.loads(stripped)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested past the parser's depth
        note = f"printed text that starts with {{ but is not JSON ({exc}); read as plain text\n"
        return base._replace(output=stdout, stderr=base.stderr + note)
    return _checked(base._replace(output=parsed), parsed, event)


def _checked(result: HookResult, answer: dict[str, Any], event: str) -> HookResult:
    """A JSON answer of the wrong shape is garbage: Claude Code would drop it."""
    problem = answers.problem(answer, event)
    if not problem:
        return result
    return result._replace(status=GARBLED, output=None,
                           reason=f"answered JSON that Claude Code rejects ({problem})")


def _json_object(stdout: str, event: str) -> tuple[dict[str, Any] | None, str]:
    """The JSON answer a failed hook printed, if any, or why it does not count."""
    try:
        parsed = answers.loads(stdout) if stdout.strip().startswith("{") else None
    except (ValueError, RecursionError):
        return None, ""
    if not isinstance(parsed, dict):
        return None, ""
    problem = answers.problem(parsed, event)
    return (None, problem) if problem else (parsed, "")


def _missing_file(event: str, stderr: str) -> bool:
    """A Stop hook whose script is gone says so and exits 2 (``sh``, ``bash``, ``python3``):
    Claude Code does not hold the turn on it, or every turn would end in nine blocks."""
    return rules(event).missing_file_passes and "no such file" in stderr.lower()


def _reason(answer: dict[str, Any] | None) -> str:
    if not answer:
        return ""
    specific = answer.get("hookSpecificOutput")
    if isinstance(specific, dict) and specific.get("permissionDecisionReason"):
        return str(specific["permissionDecisionReason"])
    return str(answer.get("reason") or answer.get("stopReason") or "")


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:200]
