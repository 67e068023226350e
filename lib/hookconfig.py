"""``.claude/hookrun.toml``: finding it, validating it strictly, and caching the result.

Validation runs only when the file changed: the normalized form is cached as JSON keyed by
the file's path, size, mtime and inode, so ``hookrun run`` usually skips ``tomllib`` and the
checks entirely. Records here are NamedTuples and JSON is the stdlib's: dataclasses, pathlib
and orjson each cost more import time than a whole ``hookrun run`` may spend on start-up.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, NamedTuple

from hookswarm.lib import schedule
from hookswarm.lib.errors import ConfigError
from hookswarm.lib.events import NAMES
from hookswarm.lib.protocol import CLAUDE_CODE_CUT
from hookswarm.lib.swarmdir import make_dirs

if TYPE_CHECKING:
    from collections.abc import Mapping

CONFIG_ENV = "HOOKRUN_CONFIG"
DEFAULT_TIMEOUT = 30.0
MAX_TIMEOUT = 86400.0  # a day; far larger values overflow the waits that enforce them
ON_ERROR = ("allow", "block")
DEFAULT_BUDGET = 9_000  # characters of merged context: below Claude Code's own cut
CACHE_VERSION = 5  # 2: timeouts are capped; 3: context_budget; 4: cancel_on_block; 5: warm

EVENTS = NAMES
_TOP_KEYS = frozenset({"defaults", "hooks"})
_DEFAULT_KEYS = frozenset({"timeout", "on_error", "context_budget", "cancel_on_block"})
MIN_BUDGET = 500
_HOOK_KEYS = frozenset({"name", "event", "matcher", "command", "call", "after", "timeout",
                        "on_error", "env", "options", "cancel_on_block", "warm"})


class HookSpec(NamedTuple):
    """One ``[[hooks]]`` entry, normalized; ``position`` is its place in the file."""

    position: int
    name: str
    event: str
    command: str = ""
    call: str = ""
    matcher: str = ""
    after: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    on_error: str = "allow"
    env: Mapping[str, str] = {}
    options: Mapping[str, Any] = {}
    cancel_on_block: bool = False  # a block stops it: only for hooks without side effects
    warm: bool = True  # under hookrun serve, a Python script may start from the warm zygote

    @property
    def kind(self) -> str:
        return "call" if self.call else "command"


class HookDefaults(NamedTuple):
    """What ``[defaults]`` gives every hook that does not say otherwise."""

    timeout: float
    on_error: str
    cancel_on_block: bool


class Config(NamedTuple):
    """A validated hookrun.toml."""

    path: str
    timeout: float
    on_error: str
    hooks: tuple[HookSpec, ...]
    context_budget: int = DEFAULT_BUDGET
    cancel_on_block: bool = False

    def for_event(self, event: str) -> tuple[HookSpec, ...]:
        return tuple(hook for hook in self.hooks if hook.event == event)

    def events(self) -> list[str]:
        return sorted({hook.event for hook in self.hooks}, key=EVENTS.index)


def find(explicit: str | None, *, environ: Mapping[str, str], cwd: str) -> str:
    """The config path: ``--config``, ``$HOOKRUN_CONFIG``, the project's, then ``./.claude``."""
    if explicit:
        return explicit
    if environ.get(CONFIG_ENV):
        return environ[CONFIG_ENV]
    project = environ.get("CLAUDE_PROJECT_DIR")
    if project and os.path.isfile(os.path.join(project, ".claude", "hookrun.toml")):
        return os.path.join(project, ".claude", "hookrun.toml")
    return os.path.join(cwd, ".claude", "hookrun.toml")


def load(path: str, *, cache_dir: str | None = None) -> Config:
    """Read and validate ``path``, reusing the cached normalized form while it is unchanged."""
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise ConfigError(
            f"cannot read the config ({exc.strerror}); create it or point --config / "
            f"{CONFIG_ENV} at it", path=path) from None
    key = [CACHE_VERSION, os.path.abspath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino]
    cache = os.path.join(cache_dir, "config-cache.json") if cache_dir else None
    cached = _read_cache(cache, key)
    if cached is not None:
        return cached
    config = parse(read_toml(path), path)
    _write_cache(cache, key, config)
    return config


def read_toml(path: str) -> dict[str, Any]:
    import tomllib  # a cached config is read without it

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(path)) from None
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start:exc.start + 1]
        raise ConfigError(f"not UTF-8 text (byte {exc.start} is {byte!r}); TOML files are "
                          "UTF-8, so save it as UTF-8", path=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config ({exc.strerror})", path=str(path)) from None


def fallback_on_error(path: str) -> str:
    """The ``[defaults] on_error`` of a config that failed validation, if it can be read."""
    try:
        value = read_toml(path).get("defaults", {}).get("on_error")
    except (ConfigError, AttributeError):
        return "allow"
    return value if value in ON_ERROR else "allow"


def parse(data: Mapping[str, Any], path: str) -> Config:
    """Validate a parsed TOML document; every error names the file, hook and key."""
    _reject_unknown(data, _TOP_KEYS, path=path, hook="")
    defaults = _table(data.get("defaults", {}), path=path, hook="", key="defaults")
    _reject_unknown(defaults, _DEFAULT_KEYS, path=path, hook="", prefix="defaults.")
    timeout = _timeout(defaults.get("timeout", DEFAULT_TIMEOUT), path=path, hook="",
                       key="defaults.timeout")
    on_error = _on_error(defaults.get("on_error", "allow"), path=path, hook="",
                         key="defaults.on_error")
    budget = _budget(defaults.get("context_budget", DEFAULT_BUDGET), path=path)
    cancel = _flag(defaults.get("cancel_on_block", False), path=path, hook="",
                   key="defaults.cancel_on_block")
    raw_hooks = data.get("hooks", [])
    if not isinstance(raw_hooks, list):
        raise ConfigError("must be an array of tables ([[hooks]])", path=path, key="hooks")
    hooks = tuple(
        _hook(index, raw, path=path, defaults=HookDefaults(timeout, on_error, cancel))
        for index, raw in enumerate(raw_hooks)
    )
    _check_graph(hooks, path)
    return Config(path=path, timeout=timeout, on_error=on_error, hooks=hooks,
                  context_budget=budget, cancel_on_block=cancel)



def _hook(index: int, raw: Any, *, path: str, defaults: HookDefaults) -> HookSpec:
    label = f"#{index + 1}"
    raw = _table(raw, path=path, hook=label, key="hooks")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("every hook needs a non-empty string 'name'", path=path, hook=label,
                          key="name")
    _reject_unknown(raw, _HOOK_KEYS, path=path, hook=name)
    event = raw.get("event")
    if event not in EVENTS:
        raise ConfigError(f"unknown event {event!r}; use one of Claude Code's events such as "
                          "PreToolUse or UserPromptSubmit", path=path, hook=name, key="event")
    command, call = raw.get("command", ""), raw.get("call", "")
    _check_action(command, call, raw, path=path, hook=name)
    return HookSpec(
        position=index, name=name, event=event, command=command, call=call,
        matcher=_string(raw.get("matcher", ""), path=path, hook=name, key="matcher"),
        after=_names(raw.get("after", []), path=path, hook=name),
        timeout=_timeout(raw.get("timeout", defaults.timeout), path=path, hook=name,
                         key="timeout"),
        on_error=_on_error(raw.get("on_error", defaults.on_error), path=path, hook=name,
                           key="on_error"),
        env=_env(raw.get("env", {}), path=path, hook=name),
        options=_options(raw.get("options", {}), path=path, hook=name),
        cancel_on_block=_flag(raw.get("cancel_on_block", defaults.cancel_on_block), path=path,
                              hook=name, key="cancel_on_block"),
        warm=_flag(raw.get("warm", True), path=path, hook=name, key="warm"),
    )


def _check_action(command: Any, call: Any, raw: Mapping[str, Any], *, path: str,
                  hook: str) -> None:
    if bool(command) == bool(call):
        raise ConfigError("give exactly one of 'command' (a shell command) or 'call' "
                          "(module:function)", path=path, hook=hook, key="command/call")
    if command:
        _string(command, path=path, hook=hook, key="command")
        if "options" in raw:
            raise ConfigError("'options' are passed to call hooks only; a command hook reads "
                              "'env'", path=path, hook=hook, key="options")
        return
    _string(call, path=path, hook=hook, key="call")
    module, _, attr = call.partition(":")
    if not module or not attr:
        raise ConfigError(f"{call!r} is not 'module:function' (e.g. 'myhooks.git:status')",
                          path=path, hook=hook, key="call")
    if "env" in raw:
        raise ConfigError("'env' applies to command hooks; give a call hook 'options'",
                          path=path, hook=hook, key="env")


def _check_graph(hooks: tuple[HookSpec, ...], path: str) -> None:
    names: dict[str, HookSpec] = {}
    for hook in hooks:
        if hook.name in names:
            raise ConfigError(f"duplicate name (also hook #{names[hook.name].position + 1}); "
                              "names must be unique", path=path, hook=hook.name, key="name")
        names[hook.name] = hook
    for hook in hooks:
        for dep in hook.after:
            if dep not in names:
                raise ConfigError(f"unknown hook {dep!r}", path=path, hook=hook.name, key="after")
            if names[dep].event != hook.event:
                raise ConfigError(f"{dep!r} runs on {names[dep].event}, not {hook.event}; "
                                  "'after' links hooks of the same event", path=path,
                                  hook=hook.name, key="after")
    cycle = schedule.find_cycle({hook.name: hook.after for hook in hooks})
    if cycle:
        raise ConfigError("dependency cycle " + " -> ".join(cycle), path=path,
                          hook=cycle[0], key="after")


def _reject_unknown(table: Mapping[str, Any], allowed: frozenset[str], *, path: str, hook: str,
                    prefix: str = "") -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"unknown key; allowed: {', '.join(sorted(allowed))}",
                              path=path, hook=hook, key=prefix + key)


def _table(value: Any, *, path: str, hook: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError("must be a table", path=path, hook=hook, key=key)
    return value


def _string(value: Any, *, path: str, hook: str, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError("must be a string", path=path, hook=hook, key=key)
    return value


def _names(value: Any, *, path: str, hook: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError("must be a list of hook names", path=path, hook=hook, key="after")
    return tuple(value)


def _timeout(value: Any, *, path: str, hook: str, key: str) -> float:
    if not valid_timeout(value):
        raise ConfigError(f"must be a positive number of seconds, at most {MAX_TIMEOUT:g} "
                          "(a day)", path=path, hook=hook, key=key)
    return float(value)


def valid_timeout(value: Any) -> bool:
    """A positive, finite number of seconds up to ``MAX_TIMEOUT`` (NaN and inf fail)."""
    return (not isinstance(value, bool) and isinstance(value, int | float)
            and 0 < value <= MAX_TIMEOUT)


def _budget(value: Any, *, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (
            value == 0 or value >= MIN_BUDGET):
        raise ConfigError(f"must be a number of characters, at least {MIN_BUDGET} (0: no cap; "
                          f"Claude Code cuts a context over {CLAUDE_CODE_CUT} to a preview)",
                          path=path, key="defaults.context_budget")
    return value


def _flag(value: Any, *, path: str, hook: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError("must be true or false", path=path, hook=hook, key=key)
    return value


def _on_error(value: Any, *, path: str, hook: str, key: str) -> str:
    if value not in ON_ERROR:
        raise ConfigError('must be "allow" (fail open) or "block" (fail closed)', path=path,
                          hook=hook, key=key)
    return str(value)


def _env(value: Any, *, path: str, hook: str) -> dict[str, str]:
    table = _table(value, path=path, hook=hook, key="env")
    if not all(isinstance(item, str) and "\0" not in item for item in table.values()):
        raise ConfigError("values must be strings without NUL bytes", path=path, hook=hook,
                          key="env")
    return table


def _options(value: Any, *, path: str, hook: str) -> dict[str, Any]:
    table = _table(value, path=path, hook=hook, key="options")
    for key, item in table.items():
        try:
            json.dumps(item)
        except (TypeError, ValueError):
            raise ConfigError("must be a string, number, boolean, array or table (not a date "
                              "or time)", path=path, hook=hook, key=f"options.{key}") from None
    return table


def _read_cache(cache: str | None, key: list[Any]) -> Config | None:
    if cache is None:
        return None
    try:
        with open(cache, "rb") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    try:
        return _from_json(data["config"])
    except (KeyError, TypeError, ValueError):
        return None


def _write_cache(cache: str | None, key: list[Any], config: Config) -> None:
    if cache is None:
        return
    tmp = f"{cache}.{os.getpid()}.tmp"
    try:
        make_dirs(os.path.dirname(cache))
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"key": key, "config": _to_json(config)}, handle)
        os.replace(tmp, cache)
    except OSError:
        pass


def _to_json(config: Config) -> dict[str, Any]:
    return {
        "path": config.path, "timeout": config.timeout, "on_error": config.on_error,
        "context_budget": config.context_budget,
        "hooks": [
            {"position": h.position, "name": h.name, "event": h.event, "command": h.command,
             "call": h.call, "matcher": h.matcher, "after": list(h.after), "timeout": h.timeout,
             "on_error": h.on_error, "env": dict(h.env), "options": dict(h.options),
             "cancel_on_block": h.cancel_on_block, "warm": h.warm}
            for h in config.hooks
        ],
        "cancel_on_block": config.cancel_on_block,
    }


def _from_json(data: dict[str, Any]) -> Config:
    """The cached form back; a value that ``parse`` would reject makes the cache a miss."""
    hooks = tuple(HookSpec(**{**raw, "after": tuple(raw["after"])}) for raw in data["hooks"])
    if not all(valid_timeout(t) for t in (data["timeout"], *(h.timeout for h in hooks))):
        raise ValueError("a cached timeout is out of range")
    return Config(path=data["path"], timeout=data["timeout"], on_error=data["on_error"],
                  hooks=hooks, context_budget=int(data["context_budget"]),
                  cancel_on_block=data["cancel_on_block"])
