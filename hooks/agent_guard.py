"""The agent guard: deny one-at-a-time sub-agent spawning and say how to batch instead.

A model that spawns one background agent per message pays a model round trip per agent for
nothing: the agents run in parallel anyway. The guard denies an Agent (or legacy Task) call when
the previous assistant message of the same thread started exactly one background agent and no
new input reached the model since. The rule itself is in :mod:`agent_guard_rule`.

Wire it to three events (one callable serves all of them):

- ``PreToolUse`` with matcher ``Agent|Task``: decides;
- ``PostToolBatch``: marks the end of each assistant message (what it started);
- ``UserPromptSubmit``: new input (a prompt or a ``<task-notification>``) starts a new epoch.

As a hookrun ``call``: ``call = "hookswarm.hooks.agent_guard:check"``, ``options = { mode =
"warn" }``. As a plain command hook: ``python -m hookswarm.hooks.agent_guard`` (payload on
stdin, answer on stdout, exit 0). Mode: ``options.mode``, else ``$HOOKSWARM_AGENT_GUARD``,
else ``block``; ``warn`` lets the spawn through with a note to the model, ``off`` does nothing.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from hookswarm.hooks import agent_guard_rule as rule
from hookswarm.hooks import agent_guard_state as state
from hookswarm.hooks import command_hook
from hookswarm.lib.errors import ConfigError
from hookswarm.lib.protocol import context, deny

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

MODES = ("block", "warn", "off")
ENV_MODE = "HOOKSWARM_AGENT_GUARD"
OPTIONS = frozenset({"mode"})

Answer = dict[str, Any] | None


def check(payload: dict[str, Any], **options: Any) -> Answer:
    """hookrun ``call`` entry: the answer for PreToolUse, ``None`` for the other events."""
    return handle(payload, mode=resolve_mode(options, os.environ), environ=os.environ)


def resolve_mode(options: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """``options["mode"]``, else ``$HOOKSWARM_AGENT_GUARD``, else ``block``."""
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise ConfigError(f"the agent guard has no option '{unknown[0]}' (it takes: mode)",
                          key=unknown[0])
    if "mode" in options:
        return _valid_mode(options["mode"], "options.mode")
    return _valid_mode(environ.get(ENV_MODE) or "block", f"${ENV_MODE}")


def _valid_mode(value: object, where: str) -> str:
    if value not in MODES:
        raise ConfigError(f"{where} is {value!r}; use one of: {', '.join(MODES)}", key="mode")
    return str(value)


def handle(payload: Mapping[str, Any], *, mode: str, environ: Mapping[str, str]) -> Answer:
    """Dispatch one hook event; the state lives in the project's ``.swarm/guard/``."""
    handler = _HANDLERS.get(str(payload.get("hook_event_name")))
    if mode == "off" or handler is None:
        return None
    return handler(payload, mode, environ)


def _pre_tool_use(payload: Mapping[str, Any], mode: str, environ: Mapping[str, str]) -> Answer:
    if not rule.is_agent_tool(payload.get("tool_name")):
        return None
    place = state.place_of(payload, environ)
    if place is None:
        return None
    key, prompt_id = rule.thread_key(payload), payload.get("prompt_id")
    call = rule.spawn_of(payload.get("tool_input"))

    def change(session: rule.Session) -> tuple[rule.Session, rule.Verdict]:
        thread, verdict = rule.spawn(rule.see_prompt(session.get(key), prompt_id), call)
        return session.put(key, thread), verdict

    verdict = command_hook.update(place, change, _note)
    if verdict is None or not verdict.deny:
        return None
    if mode == "warn":
        return context("PreToolUse", rule.warning(verdict))
    return deny(rule.guidance(verdict))


def _post_tool_batch(payload: Mapping[str, Any], mode: str,
                     environ: Mapping[str, str]) -> Answer:
    place = state.place_of(payload, environ)
    outcomes = rule.batch_outcomes(payload.get("tool_calls"))
    key, prompt_id = rule.thread_key(payload), payload.get("prompt_id")
    if place is None or _unchanged(place, key, outcomes):
        return None

    def change(session: rule.Session) -> tuple[rule.Session, None]:
        thread = rule.finish_message(rule.see_prompt(session.get(key), prompt_id), outcomes)
        return session.put(key, thread), None

    command_hook.update(place, change, _note)
    return None


def _unchanged(place: state.Place, key: str, outcomes: list[rule.Outcome]) -> bool:
    if outcomes:
        return False
    known = state.peek(place.directory, place.name)
    return known is not None and rule.batch_changes_nothing(known.get(key), outcomes)


def _user_prompt(payload: Mapping[str, Any], mode: str, environ: Mapping[str, str]) -> Answer:
    place = state.place_of(payload, environ)
    key, prompt_id = rule.thread_key(payload), payload.get("prompt_id")
    if place is None or _untracked(place, key):
        return None

    def change(session: rule.Session) -> tuple[rule.Session, None]:
        return session.put(key, rule.new_input(session.get(key), prompt_id)), None

    command_hook.update(place, change, _note)
    return None


def _untracked(place: state.Place, key: str) -> bool:
    known = state.peek(place.directory, place.name)
    return known is not None and key not in known.threads


_HANDLERS: dict[str, Callable[[Mapping[str, Any], str, Mapping[str, str]], Answer]] = {
    "PreToolUse": _pre_tool_use,
    "PostToolBatch": _post_tool_batch,
    "UserPromptSubmit": _user_prompt,
}


_note = command_hook.noter("hookswarm agent guard")


def main() -> int:
    """Command-hook entry: payload on stdin, answer on stdout, exit 0 (1 on a config error)."""
    return command_hook.main(check, _note)


if __name__ == "__main__":
    raise SystemExit(main())
