"""``hookrun validate``: everything wrong or risky in hookrun.toml, as findings."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from hookswarm.executor import config as configuration
from hookswarm.executor.config import Config, HookSpec
from hookswarm.executor.runners import resolve
from hookswarm.lib.errors import ConfigError

# Claude Code's own limits for a hook command (claude-code-hooks.md §3): hookrun's entry for
# the event cannot outlive them, so a longer hook timeout would never be reached.
EVENT_LIMITS = {"UserPromptSubmit": 30.0}
DEFAULT_LIMIT = 600.0
_PLAIN = re.compile(r"^[A-Za-z0-9_|, ]*$")


class Finding(NamedTuple):
    level: str  # "error" or "warning"
    hook: str
    message: str

    def line(self, path: str) -> str:
        where = f"{path}: hook '{self.hook}'" if self.hook else path
        return f"{self.level}: {where}: {self.message}"


def validate(path: str, *, environ: Mapping[str, str], cwd: str) -> list[Finding]:
    """Parse errors first (they stop everything), then checks on a config that loads."""
    try:
        config = configuration.load(path)
    except ConfigError as exc:
        return [Finding("error", exc.hook, f"{exc.key + ': ' if exc.key else ''}{exc.reason}")]
    return list(check(config, environ=environ, cwd=cwd))


def check(config: Config, *, environ: Mapping[str, str], cwd: str) -> Iterable[Finding]:
    for hook in config.hooks:
        yield from _runnable(hook, environ=environ, cwd=cwd)
        yield from _timeout(hook)
        yield from _matcher(hook)
    yield from _shadowed(config.hooks)


def _runnable(hook: HookSpec, *, environ: Mapping[str, str], cwd: str) -> Iterable[Finding]:
    if hook.call:
        try:
            resolve(hook.call)
        except Exception as exc:
            yield Finding("error", hook.name, f"call {hook.call!r} does not import: "
                          f"{type(exc).__name__}: {exc}")
        return
    program = _program(hook.command)
    if program and not _exists(program, environ=environ, cwd=cwd):
        yield Finding("error", hook.name, f"command {program!r} is not found (checked PATH and "
                      f"{cwd}); fix 'command'")


def _program(command: str) -> str:
    try:
        words = shlex.split(command)
    except ValueError:
        return ""
    words = [w for w in words if "=" not in w.split("/")[0]]  # skip VAR=value prefixes
    return words[0] if words else ""


def _exists(program: str, *, environ: Mapping[str, str], cwd: str) -> bool:
    if "$" in program:
        return True  # expanded by the shell at run time; cannot be checked here
    if "/" in program:
        return os.path.exists(os.path.join(cwd, program))
    return shutil.which(program, path=environ.get("PATH")) is not None or program in _BUILTINS


_BUILTINS = frozenset({"echo", "exit", "true", "false", "cd", "test", "[", "printf", ":", "exec",
                       "export", "read", "set"})


def _timeout(hook: HookSpec) -> Iterable[Finding]:
    limit = EVENT_LIMITS.get(hook.event, DEFAULT_LIMIT)
    if hook.timeout > limit:
        yield Finding("warning", hook.name, f"timeout {hook.timeout:g} s is above Claude Code's "
                      f"{limit:g} s limit for {hook.event}; it would be cut off there")


def _matcher(hook: HookSpec) -> Iterable[Finding]:
    if _PLAIN.match(hook.matcher):
        return
    try:
        re.compile(hook.matcher)
    except re.error as exc:
        yield Finding("error", hook.name, f"matcher {hook.matcher!r} is not a valid regular "
                      f"expression ({exc}); it would match nothing")


def _shadowed(hooks: Iterable[HookSpec]) -> Iterable[Finding]:
    seen: dict[tuple[str, str, str], str] = {}
    for hook in hooks:
        key = (hook.event, hook.matcher.strip() or "*", hook.command.strip() or hook.call)
        if key in seen:
            yield Finding("warning", hook.name, f"does the same as '{seen[key]}' (same event, "
                          "matcher and command); it runs twice — remove one")
        else:
            seen[key] = hook.name
