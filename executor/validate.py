"""``hookrun validate``: everything wrong or risky in hookrun.toml, as findings.

Errors are what will surely fail when Claude Code runs the hooks: a config that does not
load, a call that does not import (``hookrun run`` imports it with the same path), a matcher
that is not a valid regular expression. Warnings are what may only look wrong from here: a
command or script not found on this PATH or in this project directory may exist where Claude
Code runs it; duplicated hooks; settings entries that ``hookrun install`` wrote for an older
version of the config; commands a settings file also runs natively (they would run twice); and,
where the plugin runs hookrun, events its hooks.json lacks and chains longer than its fixed
timeout (``hookrun install`` sizes its entries, so no such limit).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

from hookswarm.executor import plugin
from hookswarm.executor.entry import stdout_diverted
from hookswarm.executor.runners import resolve
from hookswarm.hooks.agent_guard import resolve_mode
from hookswarm.lib import hookconfig as configuration
from hookswarm.lib.errors import ConfigError, SettingsError
from hookswarm.lib.events import matches_everything, plain_names
from hookswarm.settings import entries, files, native
from hookswarm.settings.document import Document, decode, parse
from hookswarm.settings.entries import Entry, is_hookrun_group

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from hookswarm.lib.hookconfig import Config, HookSpec

# Programs whose first argument that is not an option is a script file: ``python3 x.py``,
# ``node x.js``, ``bash x.sh``, ``uv run x.py``. An option that takes the code itself
# (``-c``, ``-m``, ``-e``) means there is no script to look for.
INTERPRETERS = re.compile(r"^(python[0-9.]*|node|bash|sh|zsh|dash|ruby|perl|php|deno|bun)$")
_INLINE = frozenset({"-c", "-m", "-e", "-E", "--eval", "-p", "--print", "-r", "--require"})
_PROJECT_VAR = re.compile(r"\$(?:CLAUDE_PROJECT_DIR\b|\{CLAUDE_PROJECT_DIR\})")


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
    project = environ.get("CLAUDE_PROJECT_DIR") or cwd  # as ``hookrun run`` picks it
    for hook in config.hooks:
        yield from _runnable(hook, environ=environ, project=project)
        yield from _matcher(hook)
    yield from _shadowed(config.hooks)
    yield from _installed(config, environ=environ, project=project)
    yield from _under_plugin(config, environ=environ, project=project)
    yield from _also_native(config, environ=environ, project=project)


def _runnable(hook: HookSpec, *, environ: Mapping[str, str], project: str) -> Iterable[Finding]:
    if hook.call:
        problem = _import_problem(hook.call, project) or _options_problem(hook)
        if problem:
            yield Finding("error", hook.name, problem)
        return
    words = _words(hook.command, project)
    if words and not _exists(words[0], environ=environ, project=project):
        yield Finding("warning", hook.name, f"command {words[0]!r} is not found (checked PATH "
                      f"and {project}); fix 'command' unless Claude Code's PATH has it")
        return
    script = _script(words)
    if script and "$" not in script and not os.path.exists(
            os.path.join(project, os.path.expanduser(script))):
        yield Finding("warning", hook.name, f"script {script!r} does not exist in {project}; "
                      f"{words[0]} would fail on every run, so fix 'command'")


def _import_problem(call: str, project: str) -> str:
    """Import ``call`` as ``hookrun run`` would: the project directory is importable.

    The project goes first on ``sys.path``, as in ``run`` (validate's own modules are loaded
    by now), and comes off again; what the module prints while it loads must not reach a
    ``--json`` report.
    """
    saved = list(sys.path)
    sys.path.insert(0, project)
    try:
        with stdout_diverted():
            resolve(call)
    except Exception as exc:
        return f"call {call!r} does not import: {type(exc).__name__}: {exc}"
    finally:
        sys.path[:] = saved
    return ""


def _options_problem(hook: HookSpec) -> str:
    """The built-in hooks' ``options``, checked as their first run would check them."""
    if hook.call not in _GUARD_CALLS:
        return ""
    try:
        resolve_mode(hook.options, {})
    except ConfigError as exc:
        return f"{exc.reason}; the hook would fail on every run"
    return ""


_GUARD_CALLS = frozenset({"hookswarm.hooks.agent_guard:check",
                          "hookswarm.hooks.spawn_protocol:context"})


def _words(command: str, project: str) -> list[str]:
    try:
        words = shlex.split(_PROJECT_VAR.sub(lambda _: project, command))
    except ValueError:
        return []
    return [w for w in words if "=" not in w.split("/")[0]]  # skip VAR=value prefixes


def _script(words: list[str]) -> str:
    """The script file an interpreter is given (see ``INTERPRETERS``), or ""."""
    if words[:2] == ["uv", "run"]:
        args = words[2:]
    elif words and INTERPRETERS.match(os.path.basename(words[0])):
        args = words[1:]
    else:
        return ""
    for arg in args:
        if arg in _INLINE or arg[:2] in ("-c", "-m"):  # also -c'code', -mmodule
            return ""
        if not arg.startswith("-"):
            return arg if "/" in arg or "." in os.path.basename(arg) else ""
    return ""


def _exists(program: str, *, environ: Mapping[str, str], project: str) -> bool:
    if "$" in program:
        return True  # expanded by the shell at run time; cannot be checked here
    if "/" in program:
        return os.path.exists(os.path.join(project, os.path.expanduser(program)))
    return shutil.which(program, path=environ.get("PATH")) is not None or program in _BUILTINS


_BUILTINS = frozenset({"echo", "exit", "true", "false", "cd", "test", "[", "printf", ":", "exec",
                       "export", "read", "set"})


def _matcher(hook: HookSpec) -> Iterable[Finding]:
    if matches_everything(hook.matcher) or plain_names(hook.matcher) is not None:
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


def _installed(config: Config, *, environ: Mapping[str, str],
               project: str) -> Iterable[Finding]:
    """Settings entries that ``hookrun install`` wrote for an older version of the config.

    A scope without any hookrun entry is fine: the plugin may be what runs hookrun.
    """
    wanted = {e.event: e for e in entries.desired(config, executable="hookrun",
                                                  config_path=None)}
    default = configuration.find(None, environ=environ, cwd=project)
    for scope in files.SCOPES:
        path = files.settings_path(scope, project=project, environ=environ)
        found: dict[str, dict[str, Any]] = {}
        options = ""
        for event, group, target in _hookrun_groups(path):
            if _same_file(target or default, config.path):
                found.setdefault(event, group)  # install keeps the first, removes the others
                options = f" --config {shlex.quote(target)}" if target else options
        differences = list(_differences(wanted, found))
        if found and differences:
            again = "hookrun install" + ("" if scope == "project" else f" --scope {scope}")
            yield Finding("warning", "", f"the hookrun entries in {path} ({scope} scope) are "
                          f"stale: {'; '.join(differences)}; run `{again}{options}` again")


def _under_plugin(config: Config, *, environ: Mapping[str, str],
                  project: str) -> Iterable[Finding]:
    """What the plugin's fixed entries would skip or cut off, when the plugin runs hookrun."""
    paths = [files.settings_path(scope, project=project, environ=environ)
             for scope in files.SCOPES]
    if plugin.runs_hookrun(paths):
        for hook, message in plugin.problems(config, plugin.entries()):
            yield Finding("warning", hook, message)
def _also_native(config: Config, *, environ: Mapping[str, str],
                 project: str) -> Iterable[Finding]:
    """Commands a settings file runs natively on the event hookrun.toml runs them on: where
    both match, the hook runs twice."""
    ours: dict[tuple[str, str], list[HookSpec]] = {}
    for hook in config.hooks:
        if hook.command:
            ours.setdefault((hook.event, hook.command.strip()), []).append(hook)
    for scope in files.SCOPES:
        path = files.settings_path(scope, project=project, environ=environ)
        for item in native.handlers(_settings(path)) if ours else ():
            for hook in ours.get((item.event, item.command.strip()), []) if (
                    item.kind == "command") else []:
                where = f"hooks.{item.event}[{item.group}].hooks[{item.index}]"
                matcher = f" (matcher {item.matcher!r})" if item.matcher else ""
                again = "" if scope == "project" else f" --scope {scope}"
                yield Finding("warning", hook.name, f"runs {hook.command!r} on {hook.event}, "
                              f"and {path} ({scope} scope) runs the same command natively at "
                              f"{where}{matcher}: where both match, it runs twice; remove one "
                              f"(`hookrun import{again}` removes the native copy)")


def _settings(path: str) -> Document:
    """A settings file as a document; one that is missing or does not parse is empty."""
    try:
        with open(path, "rb") as handle:
            return parse(decode(handle.read(), path), path)
    except (OSError, SettingsError):
        return parse("", path)


def _hookrun_groups(path: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    """``(event, group, --config path or "")`` of each hookrun entry; none if unreadable."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            hooks = json.load(handle).get("hooks")
    except (OSError, ValueError, AttributeError):
        return
    for event, groups in hooks.items() if isinstance(hooks, dict) else ():
        for group in groups if isinstance(groups, list) else ():
            if is_hookrun_group(group):
                yield event, group, _config_option(group["hooks"][0]["command"])


def _config_option(command: str) -> str:
    words = shlex.split(command)
    return words[words.index("--config") + 1] if "--config" in words[:-1] else ""


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _differences(wanted: Mapping[str, Entry],
                 found: Mapping[str, dict[str, Any]]) -> Iterator[str]:
    for event, entry in wanted.items():
        group = found.get(event)
        if group is None:
            yield f"no entry for {event}, so its hooks never run"
            continue
        matcher = str(group.get("matcher", "")).strip()
        if (matcher if matcher != "*" else "") != entry.matcher:
            yield f"{event} matcher is {matcher!r}, the config needs {entry.matcher!r}"
        timeout = group["hooks"][0].get("timeout")
        if timeout != entry.timeout:
            yield f"{event} timeout is {timeout} s, the config needs {entry.timeout} s"
    for event in found.keys() - wanted.keys():
        yield f"an entry for {event}, which has no hooks now"
