"""The variables Claude Code sets for one event, on top of an environment kept from another.

``hookrun serve`` keeps the environment of the session whose SessionStart started it, while
Claude Code sets some variables per event (checked on the 2.1.328 CLI): ``CLAUDE_ENV_FILE``
only for SessionStart, ``CLAUDE_EFFORT`` from the payload's ``effort`` (tool events, Stop),
and no messaging socket once the session is ending. Pure: no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

_PER_EVENT = frozenset({"CLAUDE_ENV_FILE", "CLAUDE_EFFORT"})
_GONE_AT_END = frozenset({"CLAUDE_CODE_MESSAGING_SOCKET", "CLAUDE_CODE_MESSAGING_TOKEN"})


def for_event(kept: Mapping[str, str], event: str,
              payload: Mapping[str, Any]) -> dict[str, str]:
    """``kept`` as Claude Code would have set it for ``event`` with ``payload``."""
    dropped = _PER_EVENT | (_GONE_AT_END if event == "SessionEnd" else frozenset())
    environ = {name: value for name, value in kept.items() if name not in dropped}
    effort = payload.get("effort")
    level = effort.get("level") if isinstance(effort, dict) else None
    if isinstance(level, str):
        environ["CLAUDE_EFFORT"] = level
    if event == "SessionStart" and "CLAUDE_ENV_FILE" in kept:
        environ["CLAUDE_ENV_FILE"] = kept["CLAUDE_ENV_FILE"]
    return environ
