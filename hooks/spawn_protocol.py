"""The spawning protocol the agent guard enforces, told to the model at session start.

The guard denies one-at-a-time spawns; this SessionStart hook tells the model the rule (and
the ``[depends-on: ...]`` marker) before its first spawn, in every project that enables the
guard. ``RULES`` is the one copy of the text; this repository's ``.claude/CLAUDE.md`` quotes
it, and a test keeps the quote exact.

As a hookrun ``call``: ``HOOKRUN_ENTRY`` is its hookrun.toml entry; as a plain command hook:
``python -m hookswarm.hooks.spawn_protocol`` (plain stdout on SessionStart reaches the
model). Mode: ``options.mode``, else ``$HOOKSWARM_AGENT_GUARD``, as for the guard; with the
guard ``off`` it says nothing.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from hookswarm.hooks.agent_guard import resolve_mode

TITLE = "Spawning sub-agents (the agent guard, a hook in this project, enforces this):"
RULES = """\
- Start independent agents together: put every Agent call that does not need another agent's
  result into ONE message, as several Agent tool calls in the same response. Agents run in the
  background, so one Agent call per message only adds round trips.
- If a spawn is denied as "one-at-a-time", resend it in one message together with every other
  remaining independent agent.
- If an agent needs an earlier agent's result, run the earlier one with
  `run_in_background: false`, or wait for its completion notification, then spawn.
- If a spawn really depends on something you learned since your previous message (a tool
  result, a file that now exists), begin its prompt with `[depends-on: <what it needs>]`.
  Use the marker only for real dependencies.
"""
PROTOCOL = f"{TITLE}\n{RULES}"

HOOKRUN_ENTRY: dict[str, Any] = {
    "name": "agent-guard-protocol",
    "event": "SessionStart",
    "call": "hookswarm.hooks.spawn_protocol:context",
}


def context(payload: dict[str, Any], **options: Any) -> str | None:
    """hookrun ``call`` entry for SessionStart: the protocol, or nothing with the guard off."""
    return None if resolve_mode(options, os.environ) == "off" else PROTOCOL


def main() -> int:
    """Command-hook entry: the protocol on stdout (stdin is not needed)."""
    text = context({})
    if text:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
