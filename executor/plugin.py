"""The plugin's fixed ``hooks/hooks.json``, as ``hookrun validate`` needs it.

Under the plugin, Claude Code hands hookrun only the events that hooks.json lists, each with
the entry's fixed timeout for all of that event's hooks. ``hookrun install`` has neither
limit: it writes an entry per configured event, sized to the config.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import hookswarm.hooks
from hookswarm.settings.entries import entry_timeout, is_hookrun_group

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from hookswarm.lib.hookconfig import Config

PLUGIN_NAME = "hookswarm"


def entries() -> dict[str, float]:
    """Each event the plugin's hooks.json carries, with its entry's timeout in seconds."""
    path = os.path.join(os.path.dirname(hookswarm.hooks.__file__), "hooks.json")
    with open(path, encoding="utf-8") as handle:
        hooks = json.load(handle)["hooks"]
    return {event: float(groups[0]["hooks"][0]["timeout"]) for event, groups in hooks.items()}


def runs_hookrun(settings_files: Iterable[str]) -> bool:
    """Is the plugin what runs hookrun here?

    Yes when a settings file enables it, or when none holds an entry ``hookrun install``
    wrote (then nothing but the plugin, perhaps loaded with ``--plugin-dir``, can run it).
    """
    installed = False
    for data in map(_read, settings_files):
        enabled = data.get("enabledPlugins")
        if isinstance(enabled, dict) and any(
                str(key).split("@")[0] == PLUGIN_NAME and on for key, on in enabled.items()):
            return True
        installed = installed or any(is_hookrun_group(group) for group in _groups(data))
    return not installed


def problems(config: Config, carried: Mapping[str, float]) -> Iterator[tuple[str, str]]:
    """``(hook, message)`` for events the plugin skips and chains its timeout cuts off."""
    for event in config.events():
        hooks = config.for_event(event)
        if event not in carried:
            names = ", ".join(f"'{h.name}'" for h in hooks)
            yield "", (f"the plugin's hooks.json has no {event} entry, so under the plugin "
                       f"{names} never run; use `hookrun install`, which writes an entry for "
                       "every configured event")
            continue
        needed = entry_timeout(hooks)
        if needed > carried[event]:
            yield "", (f"under the plugin, {event} gets {carried[event]:g} s in all (the fixed "
                       f"timeout of its hooks.json entry), but its hooks may need {needed} s "
                       "(timeouts along `after` chains, plus hookrun's margin) and would be "
                       "cut off; lower 'timeout', or use `hookrun install`, whose entries are "
                       "sized to the config")


def _read(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _groups(data: Mapping[str, Any]) -> Iterator[Any]:
    hooks = data.get("hooks")
    for groups in hooks.values() if isinstance(hooks, dict) else ():
        yield from groups if isinstance(groups, list) else ()
