"""Claude Code's own hooks in a settings file: listing them, judging which can move, naming them."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hookswarm.executor.config import EVENTS, MAX_TIMEOUT, valid_timeout
from hookswarm.lib.protocol import ON_FAILURE_IGNORED
from hookswarm.settings.document import Document
from hookswarm.settings.entries import SHELL_OPERATORS, is_installed_group, runs_hookrun
from hookswarm.settings.merge import hooks_node

# Keys a moved command hook may carry; anything else stays with Claude Code.
CARRIED = frozenset({"type", "command", "timeout", "onFailure", "statusMessage", "async",
                     "asyncRewake", "once"})
# Claude Code's timeout for a command hook without one (claude-code-hooks.md §3).
CLAUDE_TIMEOUT = 600.0
CLAUDE_EVENT_TIMEOUTS = {"UserPromptSubmit": 30.0}
_LAUNCHERS = frozenset({"env", "exec", "sh", "bash", "zsh", "dash", "node", "deno", "bun",
                        "bunx", "npx", "uv", "uvx", "run", "ruby", "perl", "php", "pipx",
                        "poetry", "pdm", "hatch", "time", "nice", "nohup", "timeout"})
_PYTHON = re.compile(r"^python[0-9.]*$")


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


def timeout(hook: Native) -> tuple[float, bool]:
    """The hook's timeout in seconds, and whether it is Claude Code's default."""
    value = hook.handler.get("timeout")
    if value is None:
        return CLAUDE_EVENT_TIMEOUTS.get(hook.event, CLAUDE_TIMEOUT), True
    return float(value), False


def blocks_on_failure(hook: Native) -> bool:
    return hook.handler.get("onFailure") == "block" and hook.event not in ON_FAILURE_IGNORED


def derive_name(command: str) -> str:
    """A hook name from its command: the script's base name, else the program's."""
    words = _words(command)
    after_module = False
    for word in words:
        if word in SHELL_OPERATORS:
            break
        if after_module:
            return _slug(word.rsplit(".", 1)[-1])
        after_module = word == "-m"
        if _skipped(word):
            continue
        return _slug(os.path.splitext(os.path.basename(word.rstrip("/")))[0])
    return _slug(os.path.basename(words[0])) if words else "hook"


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def _skipped(word: str) -> bool:
    """Launchers, flags and VAR=value prefixes come before the part that names the hook."""
    base = os.path.basename(word)
    return (word.startswith("-") or base in _LAUNCHERS or bool(_PYTHON.match(base))
            or ("=" in word and "/" not in word.split("=", 1)[0]))


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text.lower()).strip("-.") or "hook"


def unique_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever is free."""
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    return name
