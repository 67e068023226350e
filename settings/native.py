"""Claude Code's own hooks in a settings file: listing them, judging which can move, naming them."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hookswarm.lib.hookconfig import EVENTS, MAX_TIMEOUT, valid_timeout
from hookswarm.lib.protocol import ON_FAILURE_IGNORED
from hookswarm.settings.entries import (
    SHELL_OPERATORS,
    is_installed_group,
    runs_hookrun,
    shell_words,
)
from hookswarm.settings.merge import hooks_node

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from hookswarm.settings.document import Document

# Keys a moved command hook may carry; anything else stays with Claude Code.
CARRIED = frozenset({"type", "command", "timeout", "onFailure", "statusMessage", "async",
                     "asyncRewake", "once"})
# Claude Code's timeout for a command hook without one (claude-code-hooks.md §3).
CLAUDE_TIMEOUT = 600.0
CLAUDE_EVENT_TIMEOUTS = {"UserPromptSubmit": 30.0}
# SessionEnd hooks share one budget: 1.5 s, or the longest timeout a SessionEnd hook sets
# (read from the 2.1.328 CLI; a 3 s hook without a timeout was cut short there).
SESSION_END_BUDGET = 1.5
_LAUNCHERS = frozenset({"env", "exec", "sh", "bash", "zsh", "dash", "node", "deno", "bun",
                        "bunx", "npx", "uv", "uvx", "run", "ruby", "perl", "php", "pipx",
                        "poetry", "pdm", "hatch", "time", "nice", "nohup", "timeout"})
_PYTHON = re.compile(r"^python[0-9.]*$")
SCRIPT_SUFFIXES = frozenset({".py", ".sh", ".bash", ".zsh", ".js", ".mjs", ".cjs", ".ts",
                             ".mts", ".rb", ".pl", ".php", ".lua", ".ps1", ".fish"})


@dataclass(frozen=True, slots=True)
class Native:
    """One handler in ``hooks[event][group].hooks[index]``; ``matcher`` "" when absent."""

    event: str
    group: int
    index: int
    matcher: str
    handler: Mapping[str, Any]

    @property
    def command(self) -> str:
        command = self.handler.get("command")
        return command if isinstance(command, str) else ""

    @property
    def kind(self) -> str:
        return str(self.handler.get("type", "?"))

    def describe(self) -> str:
        target = self.handler.get("command") or self.handler.get("url") or self.handler.get(
            "prompt") or self.handler.get("tool") or ""
        return f"{self.kind} {str(target)[:80]}".rstrip()


def handlers(document: Document) -> Iterator[Native]:
    """Every handler outside the entries install wrote, in settings order."""
    hooks = hooks_node(document)
    if hooks is None:
        return
    for member in hooks.members:
        if hooks.get(member.key) is not member or member.value.kind != "array":
            continue
        for number, node in enumerate(member.value.items):
            group = document.value(node)
            if not isinstance(group, dict) or is_installed_group(group):
                continue
            yield from _group_handlers(member.key, number, group)


def _group_handlers(event: str, number: int, group: Mapping[str, Any]) -> Iterator[Native]:
    matcher = group.get("matcher", "")
    items = group.get("hooks")
    if not isinstance(items, list):
        return
    for index, handler in enumerate(items):
        if isinstance(handler, dict):
            yield Native(event, number, index, matcher if isinstance(matcher, str) else "",
                         handler)


def stays_native(hook: Native) -> str:
    """Why this handler cannot move into hookrun ("" when it can)."""
    handler = hook.handler
    if hook.event not in EVENTS:
        return f"{hook.event!r} is not an event hookrun knows; it stays with Claude Code"
    if hook.kind != "command":
        return f"{hook.kind} hooks stay native: hookrun runs command hooks only"
    if handler.get("async") or handler.get("asyncRewake"):
        return "async hooks stay native: hookrun waits for every hook it runs"
    if handler.get("once"):
        return "once hooks stay native: hookrun has no run-once hooks"
    return _command_problem(hook) or _unknown_keys(handler) or _timeout_problem(handler)


def _command_problem(hook: Native) -> str:
    if "args" in hook.handler:
        return "exec-form hooks (command + args) stay native: hookrun runs a shell command"
    if "shell" in hook.handler:
        return (f"shell {hook.handler['shell']!r} hooks stay native: hookrun runs commands "
                "with /bin/sh")
    if not hook.command.strip():
        return "no command to run"
    if runs_hookrun(hook.command):
        return "it runs `hookrun run` itself: moved into hookrun.toml, hookrun would call itself"
    try:
        hook.command.encode("utf-8")
    except UnicodeEncodeError:
        return "the command is not valid UTF-8 text"
    return ""


def _unknown_keys(handler: Mapping[str, Any]) -> str:
    unknown = sorted(set(handler) - CARRIED)
    if "if" in unknown:
        return "'if' filters stay native: hookrun has no permission-rule filter per hook"
    if unknown:
        return f"keys hookrun does not know ({', '.join(unknown)}) stay native to be safe"
    return ""


def _timeout_problem(handler: Mapping[str, Any]) -> str:
    value = handler.get("timeout")
    if value is None or valid_timeout(value):
        return ""
    return (f"timeout {value!r} is not a positive number of seconds up to {MAX_TIMEOUT:g} "
            "(hookrun's limit)")


def default_timeouts(hooks: Iterable[Native]) -> dict[str, float]:
    """Claude Code's timeout for a hook without one, by event, given all hooks of a file."""
    ends = [float(h.handler["timeout"]) for h in hooks
            if h.event == "SessionEnd" and valid_timeout(h.handler.get("timeout"))]
    return {**CLAUDE_EVENT_TIMEOUTS, "SessionEnd": max([SESSION_END_BUDGET, *ends])}


def timeout(hook: Native, defaults: Mapping[str, float] = CLAUDE_EVENT_TIMEOUTS,
            ) -> tuple[float, bool]:
    """The hook's timeout in seconds, and whether it is Claude Code's default."""
    value = hook.handler.get("timeout")
    if value is None:
        return defaults.get(hook.event, CLAUDE_TIMEOUT), True
    return float(value), False


def blocks_on_failure(hook: Native) -> bool:
    return hook.handler.get("onFailure") == "block" and hook.event not in ON_FAILURE_IGNORED


def derive_name(command: str) -> str:
    """A hook name from its command: the script it runs, wherever it sits in a pipeline or a
    list (``jq ... | ~/.claude/hooks/validate-bash.sh``), else ``-m``'s module, else the first
    program."""
    parts = _simple_commands(command)
    words = [w for part in parts for w in part]
    script = next((w for w in words if _is_script(w)), None) or next(
        (p for p in map(_program, parts) if p and "/" in p), None)
    if script is not None:
        return _slug(os.path.splitext(os.path.basename(script.rstrip("/")))[0])
    module = next((b for a, b in itertools.pairwise(words) if a == "-m"), None)
    if module is not None:
        return _slug(module.rsplit(".", 1)[-1])
    program = next((p for p in map(_program, parts) if p and p != "cd"), None) or (
        parts[0][0] if parts else None)
    return _slug(os.path.basename(program)) if program else "hook"


def names_for(hooks: Sequence[tuple[str, str]], taken: set[str]) -> list[str]:
    """A name for each ``(event, command)``: its script's name; where two hooks share that,
    with the event added; where that is shared too, with a digest of the command. So a hook's
    name depends on what it runs and what else shares its script, never on the order."""
    bases = [derive_name(command) for _, command in hooks]
    shared = Counter(bases)
    per_event = Counter(zip(bases, (event for event, _ in hooks), strict=True))
    names = []
    for (event, command), base in zip(hooks, bases, strict=True):
        options = [base, f"{base}-{_kebab(event)}", f"{base}-{_digest(event, command)}"]
        skip = 0 if shared[base] == 1 else 1 if per_event[(base, event)] == 1 else 2
        name = next((o for o in options[skip:] if o not in taken), None) or unique_name(
            options[-1], taken)
        taken.add(name)
        names.append(name)
    return names


def _simple_commands(command: str) -> list[list[str]]:
    """The words of each simple command of a pipeline or list."""
    parts: list[list[str]] = [[]]
    for word in shell_words(command) or command.split():
        if word in SHELL_OPERATORS:
            parts.append([])
        else:
            parts[-1].append(word)
    return [part for part in parts if part]


def _is_script(word: str) -> bool:
    return (not word.startswith("-") and "=" not in word.split("/")[0]
            and os.path.splitext(word.rstrip("/"))[1].lower() in SCRIPT_SUFFIXES)


def _program(words: Sequence[str]) -> str | None:
    """The program a simple command runs, past launchers (env, uv run, npx), flags and
    VAR=value prefixes."""
    return next((w for w in words if not _skipped(w)), None)


def _kebab(event: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "-", event).lower()


def _digest(event: str, command: str) -> str:
    text = f"{event}\0{command}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(text).hexdigest()[:6]


def _skipped(word: str) -> bool:
    """Launchers, flags and VAR=value prefixes come before the part that names the hook."""
    base = os.path.basename(word)
    launcher = base in _LAUNCHERS and (base != "run" or "/" not in word)  # ./hooks/run: a script
    return (word.startswith("-") or launcher or bool(_PYTHON.match(base))
            or ("=" in word and "/" not in word.split("=", 1)[0]))


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text.lower()).strip("-.") or "hook"


def unique_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever is free."""
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    return name
